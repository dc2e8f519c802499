import { type WorkerScript, workerScript } from '../worker-script.js';

/** The probe worker used by WorkerPool tests (see probe.worker.ts for its tasks). */
export function probeWorkerScript(): WorkerScript {
  return workerScript(import.meta.url, 'probe.worker');
}

/** A gate a `blockUntilReleased` task waits on: [0] released flag, [1] tasks started. */
export class Gate {
  readonly cells = new Int32Array(new SharedArrayBuffer(8));

  /** How many tasks have entered the gate. */
  get entered(): number {
    return Atomics.load(this.cells, 1);
  }

  /** Lets every waiting task (and any later one) through. */
  release(): void {
    Atomics.store(this.cells, 0, 1);
    Atomics.notify(this.cells, 0);
  }
}

/**
 * Resolves once `condition` holds, polling every `intervalMs`; rejects with `what` after
 * `timeoutMs`. Tests wait on conditions with a deadline instead of sleeping.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  { timeoutMs = 5_000, intervalMs = 5 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

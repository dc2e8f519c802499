// Worker entry for WorkerPool tests. `block` and `blockUntilReleased` park the thread in
// Atomics.wait, which is what a C call hung in the driver looks like from JavaScript: the thread
// cannot receive messages or be interrupted until it returns.
import { threadId } from 'node:worker_threads';
import { poolWorkerData, serveTasks } from '../serve-tasks.js';

const { config, statsBuffer } = poolWorkerData<unknown>();
const stats = new Int32Array(statsBuffer);
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** An error that carries data across the thread boundary through `toJSON`. */
class ProbeError extends Error {
  override readonly name = 'ProbeError';
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
  toJSON(): { code: number } {
    return { code: this.code };
  }
}

function counted<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  return (...args) => {
    Atomics.add(stats, 0, 1);
    return fn(...args);
  };
}

serveTasks({
  echo: counted((value: unknown) => value),
  config: counted(() => config),
  threadId: counted(() => threadId),
  /** Counts the call in `counter[0]`, then returns. */
  count: counted((counter: Int32Array) => Atomics.add(counter, 0, 1) + 1),
  fail: counted((message: string, code: number) => {
    throw new ProbeError(message, code);
  }),
  /** Blocks the thread for `ms`. */
  block: counted((ms: number) => {
    Atomics.wait(sleeper, 0, 0, ms);
    return threadId;
  }),
  /**
   * Sets `gate[1]` to say it has started, then blocks until the test sets `gate[0]` (or 30 s
   * pass, so a forgotten release cannot hang the run).
   */
  blockUntilReleased: counted((gate: Int32Array) => {
    Atomics.add(gate, 1, 1);
    Atomics.notify(gate, 1);
    Atomics.wait(gate, 0, 0, 30_000);
    return threadId;
  }),
  /** Ends the thread with `code` mid-call. */
  exit: counted((code: number) => process.exit(code)),
  /**
   * Returns a value whose getter throws while the reply is posted, outside the handler's
   * try/catch: the worker dies with an uncaught error and never replies.
   */
  poisonedReply: counted((message: string) => ({
    get value(): never {
      throw new TypeError(message);
    },
  })),
});

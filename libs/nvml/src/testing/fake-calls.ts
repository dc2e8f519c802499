// The call discipline the threaded clients get from WorkerPool, without threads: a deadline per
// call, single flight per key, and a key whose call is stuck past its deadline refuses new calls
// at once until the stuck call returns. Used by the NVML and CUDA fakes.

/** What a running call is doing, for the timeout error. */
export interface CallTrace {
  /** The native function the call is blocked in now (a hung fault), else null. */
  blockedIn: string | null;
  /** When the call started, ms since the epoch. */
  startedAtMs: number;
}

/** Builds the error for a call past its deadline (`stillRunning`: the call has not returned). */
export type TimeoutErrorFactory = (key: string, trace: CallTrace, timeoutMs: number, stillRunning: boolean) => Error;

interface Running {
  promise: Promise<unknown>;
  trace: CallTrace;
  stuck: boolean;
}

/** Runs calls with deadlines and single flight per key. */
export class DeadlineCalls {
  private readonly running = new Map<string, Running>();
  private maxRunning = 0;

  constructor(private readonly timeoutError: TimeoutErrorFactory) {}

  /**
   * Runs `work` under `key`: joins a call already running under that key, or rejects at once
   * when that call is stuck past its deadline. The caller's promise rejects at `timeoutMs`;
   * the work itself carries on until it returns (it cannot be interrupted, like a C call).
   */
  run<T>(key: string, timeoutMs: number, work: (trace: CallTrace) => Promise<T>): Promise<T> {
    const existing = this.running.get(key);
    if (existing) {
      if (existing.stuck) return Promise.reject(this.timeoutError(key, existing.trace, timeoutMs, true));
      return existing.promise as Promise<T>;
    }
    const trace: CallTrace = { blockedIn: null, startedAtMs: Date.now() };
    const entry: Running = { promise: Promise.resolve(), trace, stuck: false };
    const done = Promise.resolve()
      .then(() => work(trace))
      .finally(() => {
        if (this.running.get(key) === entry) this.running.delete(key);
      });
    entry.promise = new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        entry.stuck = true;
        reject(this.timeoutError(key, trace, timeoutMs, true));
      }, timeoutMs);
      done.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error as Error);
        },
      );
    });
    // The caller may have gone after a timeout; a late rejection must not be unhandled.
    entry.promise.catch(() => undefined);
    this.running.set(key, entry);
    this.maxRunning = Math.max(this.maxRunning, this.running.size);
    return entry.promise as Promise<T>;
  }

  /** Keys of calls running or stuck now. */
  keys(): string[] {
    return [...this.running.keys()];
  }

  /** The most calls that were running at once. */
  maxInFlight(): number {
    return this.maxRunning;
  }
}

/**
 * A native call that does not return: it blocks until the test calls `release()`, or for
 * `delayMs` from the moment each call enters it when given. Once released it holds nothing.
 */
export class Hang {
  private open!: () => void;
  private readonly opened = new Promise<void>((resolve) => (this.open = resolve));
  private entries = 0;
  private isReleased = false;

  constructor(readonly delayMs?: number) {}

  /** Calls that have entered the hang so far. */
  get entered(): number {
    return this.entries;
  }

  get released(): boolean {
    return this.isReleased;
  }

  /** Lets every held call return, and every later one pass. */
  release(): void {
    this.isReleased = true;
    this.open();
  }

  /** Holds one call (used by the fakes). */
  async hold(): Promise<void> {
    this.entries++;
    if (this.isReleased) return;
    if (this.delayMs === undefined) return this.opened;
    let timer: NodeJS.Timeout | undefined;
    const delay = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.delayMs)));
    await Promise.race([this.opened, delay]);
    clearTimeout(timer);
  }
}

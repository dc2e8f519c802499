import { Worker } from 'node:worker_threads';
import type { WorkerScript } from './worker-script.js';

/** What a worker sends back for one task. */
export type TaskReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: SerializedError };

/** An error as it crosses the thread boundary: its class name, message and own data. */
export interface SerializedError {
  name: string;
  message: string;
  data?: unknown;
}

/** A task as the pool sees it, for building timeout errors. */
export interface TaskInfo {
  op: string;
  key: string;
  startedAtMs: number;
  /** Statistics buffer of the worker running it; null while queued. */
  statsBuffer: SharedArrayBuffer | null;
}

export interface WorkerPoolOptions {
  /** Thread names, for diagnostics. */
  name: string;
  /** Module run by each worker (it calls `serveTasks`); see `workerScript`. */
  script: WorkerScript;
  /** Passed to every worker as `workerData.config`. */
  config: unknown;
  /** Workers that may run tasks at once (stuck ones not counted). */
  size: number;
  /** Stuck workers tolerated before new calls are refused at once. */
  maxStuck?: number;
  /** Bytes of the SharedArrayBuffer each worker gets as `workerData.statsBuffer`. */
  statsBytes?: number;
  /** Turns a worker's serialized error back into a typed error. */
  decodeError: (error: SerializedError) => Error;
  /** Builds the error for a task past its deadline (`stillRunning`: its worker is still busy). */
  timeoutError: (task: TaskInfo, timeoutMs: number, stillRunning: boolean) => Error;
}

export interface RunOptions {
  /** Single-flight key: concurrent calls with the same key share one task. Default: op. */
  key?: string;
  /** Deadline, ms. */
  timeoutMs: number;
}

/** Asks a worker to exit once it is idle (see serveTasks). */
export const EXIT_REQUEST = { op: '__exit' } as const;
const DISMISS_GRACE_MS = 5_000;

interface Task {
  id: number;
  op: string;
  key: string;
  args: unknown[];
  startedAtMs: number;
  promise: Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
  slot: Slot | null;
  timedOut: boolean;
  settled: boolean;
}

interface Slot {
  worker: Worker;
  statsBuffer: SharedArrayBuffer;
  task: Task | null;
  stuck: boolean;
}

/**
 * Runs blocking native calls on worker threads so the event loop never waits on a driver.
 *
 * - Every task has a deadline; past it the caller gets `timeoutError` while the worker, which
 *   cannot be interrupted inside a C call, is set aside as stuck and replaced.
 * - Single flight: while a task with the same key runs, callers share it; while a timed-out
 *   task with that key is still stuck, callers are refused at once, so calls never pile up
 *   behind a hung driver call.
 * - Stuck workers rejoin the pool when their call returns; at most `maxStuck` are kept.
 */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private readonly inFlight = new Map<string, Task>();
  private readonly retiredStats: SharedArrayBuffer[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: WorkerPoolOptions) {}

  /**
   * Runs `op(...args)` on a worker.
   * @throws the decoded worker error, or `timeoutError` past the deadline.
   */
  run<T>(op: string, args: unknown[], { key = op, timeoutMs }: RunOptions): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`${this.options.name}: pool is closed`));
    const existing = this.inFlight.get(key);
    if (existing) {
      if (!existing.timedOut) return existing.promise as Promise<T>;
      return Promise.reject(this.options.timeoutError(this.info(existing), timeoutMs, true));
    }
    if (this.stuckCount() >= (this.options.maxStuck ?? 32)) {
      const info: TaskInfo = { op, key, startedAtMs: Date.now(), statsBuffer: null };
      return Promise.reject(this.options.timeoutError(info, 0, true));
    }
    let resolve!: (value: unknown) => void;
    let reject!: (error: Error) => void;
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const task: Task = {
      id: this.nextId++,
      op,
      key,
      args,
      startedAtMs: Date.now(),
      promise,
      resolve,
      reject,
      timer: setTimeout(() => this.expire(task, timeoutMs), timeoutMs),
      slot: null,
      timedOut: false,
      settled: false,
    };
    this.inFlight.set(key, task);
    this.queue.push(task);
    this.dispatch();
    return promise as Promise<T>;
  }

  /** Starts workers up front so the first calls do not pay for thread start-up. */
  warm(count = this.options.size): void {
    while (this.healthySlots().length < Math.min(count, this.options.size)) this.spawn();
  }

  /** Statistics buffers of every worker this pool has run, retired ones included. */
  statsBuffers(): SharedArrayBuffer[] {
    return [...this.retiredStats, ...this.slots.map((s) => s.statsBuffer)];
  }

  /** Workers stuck in a call past its deadline. */
  stuckCount(): number {
    return this.slots.filter((s) => s.stuck).length;
  }

  /** Keys of tasks running or stuck now. */
  runningKeys(): string[] {
    return [...this.inFlight.keys()];
  }

  /**
   * Stops every worker. Workers stuck inside a C call cannot be interrupted; they are
   * unreferenced so they do not keep the process alive.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.queue.splice(0)) this.settle(task, new Error(`${this.options.name}: pool closed`));
    await Promise.all(
      this.slots.splice(0).map(async (slot) => {
        if (slot.task) {
          slot.worker.unref();
          this.settle(slot.task, new Error(`${this.options.name}: pool closed`));
          return;
        }
        await this.dismiss(slot);
      }),
    );
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => !s.task && !s.stuck);
      if (!slot) {
        if (this.healthySlots().length >= this.options.size) return;
        slot = this.spawn();
      }
      const task = this.queue.shift()!;
      task.slot = slot;
      slot.task = task;
      slot.worker.postMessage({ id: task.id, op: task.op, args: task.args });
    }
  }

  private spawn(): Slot {
    const statsBuffer = new SharedArrayBuffer(this.options.statsBytes ?? 8);
    const worker = new Worker(this.options.script.url, {
      name: this.options.name,
      execArgv: this.options.script.execArgv,
      workerData: { config: this.options.config, statsBuffer },
    });
    const slot: Slot = { worker, statsBuffer, task: null, stuck: false };
    worker.on('message', (reply: TaskReply) => this.onReply(slot, reply));
    worker.on('error', (error) => this.onExit(slot, error));
    worker.on('exit', (code) => this.onExit(slot, new Error(`${this.options.name}: worker exited with code ${code}`)));
    this.slots.push(slot);
    return slot;
  }

  private onReply(slot: Slot, reply: TaskReply): void {
    if (this.closed) {
      // A worker that was stuck when the pool closed: its call finally returned.
      void this.dismiss(slot);
      return;
    }
    const task = slot.task;
    if (!task || task.id !== reply.id) return;
    slot.task = null;
    if (this.inFlight.get(task.key) === task) this.inFlight.delete(task.key);
    if (slot.stuck) {
      slot.stuck = false;
      // Back to work if the pool is short of workers; otherwise retire it.
      if (this.healthySlots().length > this.options.size) this.retire(slot);
    }
    if (!task.settled) {
      if (reply.ok) this.settle(task, null, reply.value);
      else this.settle(task, this.options.decodeError(reply.error));
    }
    this.dispatch();
  }

  private onExit(slot: Slot, error: Error): void {
    const index = this.slots.indexOf(slot);
    if (index < 0) return;
    this.slots.splice(index, 1);
    this.retiredStats.push(slot.statsBuffer);
    const task = slot.task;
    if (task) {
      if (this.inFlight.get(task.key) === task) this.inFlight.delete(task.key);
      if (!task.settled) this.settle(task, error);
    }
    if (!this.closed) this.dispatch();
  }

  private expire(task: Task, timeoutMs: number): void {
    if (task.settled) return;
    task.timedOut = true;
    const queued = this.queue.indexOf(task);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.inFlight.delete(task.key);
    } else if (task.slot) {
      task.slot.stuck = true;
    }
    this.settle(task, this.options.timeoutError(this.info(task), timeoutMs, queued < 0));
    this.dispatch();
  }

  private settle(task: Task, error: Error | null, value?: unknown): void {
    if (task.settled) return;
    task.settled = true;
    clearTimeout(task.timer);
    if (error) task.reject(error);
    else task.resolve(value);
  }

  private retire(slot: Slot): void {
    const index = this.slots.indexOf(slot);
    if (index >= 0) this.slots.splice(index, 1);
    this.retiredStats.push(slot.statsBuffer);
    void this.dismiss(slot);
  }

  /**
   * Ends an idle worker by asking it to exit. `terminate()` is avoided: reaching a worker while
   * it is still loading a native addon aborts the whole process, and a worker that has not
   * started yet reads the request only once it is ready.
   */
  private async dismiss(slot: Slot): Promise<void> {
    const exited = new Promise<void>((resolve) => slot.worker.once('exit', () => resolve()));
    slot.worker.postMessage(EXIT_REQUEST);
    const grace = new Promise<void>((resolve) => setTimeout(resolve, DISMISS_GRACE_MS).unref());
    await Promise.race([exited, grace]);
    slot.worker.unref();
  }

  private healthySlots(): Slot[] {
    return this.slots.filter((s) => !s.stuck);
  }

  private info(task: Task): TaskInfo {
    return { op: task.op, key: task.key, startedAtMs: task.startedAtMs, statsBuffer: task.slot?.statsBuffer ?? null };
  }
}

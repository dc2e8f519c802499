import { threadId as mainThreadId } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { Gate, probeWorkerScript, waitFor } from './testing/index.js';
import { type SerializedError, type TaskInfo, WorkerPool, type WorkerPoolOptions } from './worker-pool.js';

class DecodedError extends Error {
  override readonly name = 'DecodedError';
  constructor(readonly serialized: SerializedError) {
    super(serialized.message);
  }
}

class DeadlineError extends Error {
  override readonly name = 'DeadlineError';
  constructor(
    readonly task: TaskInfo,
    readonly timeoutMs: number,
    readonly stillRunning: boolean,
  ) {
    super(`${task.key} past ${timeoutMs} ms`);
  }
}

const pools: WorkerPool[] = [];
const gates: Gate[] = [];

function makePool(overrides: Partial<WorkerPoolOptions> = {}): WorkerPool {
  const pool = new WorkerPool({
    name: 'probe',
    script: probeWorkerScript(),
    config: { greeting: 'hello' },
    size: 2,
    statsBytes: 8,
    decodeError: (error) => new DecodedError(error),
    timeoutError: (task, timeoutMs, stillRunning) => new DeadlineError(task, timeoutMs, stillRunning),
    ...overrides,
  });
  pools.push(pool);
  return pool;
}

function gate(): Gate {
  const g = new Gate();
  gates.push(g);
  return g;
}

/** Calls the probe workers served, summed over every worker the pool has run. */
function handledCalls(pool: WorkerPool): number {
  return pool.statsBuffers().reduce((sum, buffer) => sum + Atomics.load(new Int32Array(buffer), 0), 0);
}

/** Records when a promise settles, so a test can assert it has not yet. */
function track<T>(promise: Promise<T>): { settled: boolean; promise: Promise<T> } {
  const state = { settled: false, promise };
  promise.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  return state;
}

afterEach(async () => {
  for (const g of gates.splice(0)) g.release();
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

describe('WorkerPool', () => {
  it('runs a task on a worker thread with the configured workerData', async () => {
    const pool = makePool();
    await expect(pool.run('echo', [{ a: [1, 2] }], { timeoutMs: 5_000 })).resolves.toEqual({ a: [1, 2] });
    await expect(pool.run('config', [], { timeoutMs: 5_000 })).resolves.toEqual({ greeting: 'hello' });
    const id = await pool.run<number>('threadId', [], { timeoutMs: 5_000 });
    expect(id).not.toBe(mainThreadId);
    expect(pool.statsBuffers().map((b) => b.byteLength)).toEqual([8]);
  });

  it('rebuilds a worker error with decodeError, carrying its toJSON data', async () => {
    const pool = makePool();
    const error = await pool.run('fail', ['no such GPU', 42], { timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DecodedError);
    expect((error as DecodedError).serialized).toEqual({ name: 'ProbeError', message: 'no such GPU', data: { code: 42 } });
  });

  it('rejects an unknown task without losing the worker', async () => {
    const pool = makePool({ size: 1 });
    const first = await pool.run<number>('threadId', [], { timeoutMs: 5_000 });
    await expect(pool.run('nope', [], { timeoutMs: 5_000 })).rejects.toMatchObject({
      serialized: { name: 'Error', message: 'unknown task nope' },
    });
    await expect(pool.run('threadId', [], { timeoutMs: 5_000 })).resolves.toBe(first);
  });

  it('rejects a call past its deadline while the worker is still blocked in it', async () => {
    const pool = makePool();
    await pool.run('echo', ['started'], { timeoutMs: 5_000 });
    const g = gate();
    const started = performance.now();
    const error = await pool.run('blockUntilReleased', [g.cells], { key: 'gpu0', timeoutMs: 100 }).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(DeadlineError);
    const deadline = error as DeadlineError;
    expect(deadline.stillRunning).toBe(true);
    expect(deadline.timeoutMs).toBe(100);
    expect(deadline.task).toMatchObject({ op: 'blockUntilReleased', key: 'gpu0', statsBuffer: expect.any(SharedArrayBuffer) });
    expect(elapsed).toBeGreaterThanOrEqual(99);
    expect(elapsed).toBeLessThan(1_000);
    expect(g.entered).toBe(1);
    expect(pool.stuckCount()).toBe(1);
  });

  it('shares one task between concurrent calls with the same key', async () => {
    const pool = makePool();
    const g = gate();
    const first = pool.run<number>('blockUntilReleased', [g.cells], { key: 'gpu0', timeoutMs: 5_000 });
    const second = pool.run<number>('echo', ['ignored'], { key: 'gpu0', timeoutMs: 5_000 });
    await waitFor(() => g.entered === 1, 'the first call to start');
    g.release();
    const [a, b] = await Promise.all([first, second]);
    expect(b).toBe(a);
    expect(handledCalls(pool)).toBe(1);
    expect(pool.runningKeys()).toEqual([]);
  });

  it('refuses calls for a key stuck past its deadline at once, serves other keys, and recovers when the call returns', async () => {
    const pool = makePool({ size: 1 });
    const g = gate();
    await expect(pool.run('blockUntilReleased', [g.cells], { key: 'gpu0', timeoutMs: 50 })).rejects.toBeInstanceOf(DeadlineError);

    const started = performance.now();
    const refused = await pool.run('echo', [1], { key: 'gpu0', timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(50);
    expect(refused).toMatchObject({ name: 'DeadlineError', stillRunning: true, task: { key: 'gpu0', op: 'blockUntilReleased' } });
    expect(pool.runningKeys()).toEqual(['gpu0']);

    // A replacement thread serves the other keys meanwhile.
    await expect(pool.run('echo', ['other'], { key: 'gpu1', timeoutMs: 5_000 })).resolves.toBe('other');
    expect(pool.stuckCount()).toBe(1);

    g.release();
    await waitFor(() => pool.stuckCount() === 0 && pool.runningKeys().length === 0, 'the stuck call to return');
    await expect(pool.run('echo', [2], { key: 'gpu0', timeoutMs: 5_000 })).resolves.toBe(2);
  });

  it('puts a stuck worker back to work when it returns and the pool is short of threads', async () => {
    const pool = makePool({ size: 2 });
    const first = await pool.run<number>('threadId', [], { timeoutMs: 5_000 });
    const g = gate();
    await expect(pool.run('blockUntilReleased', [g.cells], { key: 'gpu0', timeoutMs: 50 })).rejects.toBeInstanceOf(DeadlineError);
    const replacement = await pool.run<number>('threadId', [], { timeoutMs: 5_000 });
    expect(replacement).not.toBe(first);

    g.release();
    await waitFor(() => pool.stuckCount() === 0 && pool.runningKeys().length === 0, 'the stuck call to return');

    // Both threads serve again, and no third one is started.
    const both = gate();
    const a = pool.run<number>('blockUntilReleased', [both.cells], { key: 'a', timeoutMs: 5_000 });
    const b = pool.run<number>('blockUntilReleased', [both.cells], { key: 'b', timeoutMs: 5_000 });
    await waitFor(() => both.entered === 2, 'both calls to start');
    both.release();
    expect(new Set(await Promise.all([a, b]))).toEqual(new Set([first, replacement]));
    expect(pool.statsBuffers()).toHaveLength(2);
  });

  it('retires a stuck worker that returns when the pool already has enough threads, keeping its statistics', async () => {
    const pool = makePool({ size: 1 });
    const g = gate();
    await expect(pool.run('blockUntilReleased', [g.cells], { key: 'gpu0', timeoutMs: 50 })).rejects.toBeInstanceOf(DeadlineError);
    const replacement = await pool.run<number>('threadId', [], { key: 'gpu1', timeoutMs: 5_000 });

    g.release();
    await waitFor(() => pool.stuckCount() === 0 && pool.runningKeys().length === 0, 'the stuck call to return');

    await expect(pool.run('threadId', [], { timeoutMs: 5_000 })).resolves.toBe(replacement);
    expect(pool.statsBuffers()).toHaveLength(2);
    expect(handledCalls(pool)).toBe(3);
  });

  it('queues calls beyond its size and runs them in order', async () => {
    const pool = makePool({ size: 1 });
    const g = gate();
    const order: string[] = [];
    const blocked = pool.run('blockUntilReleased', [g.cells], { key: 'a', timeoutMs: 5_000 }).then(() => order.push('a'));
    const b = track(pool.run('echo', ['b'], { key: 'b', timeoutMs: 5_000 }).then((v) => order.push(v as string)));
    const c = track(pool.run('echo', ['c'], { key: 'c', timeoutMs: 5_000 }).then((v) => order.push(v as string)));
    await waitFor(() => g.entered === 1, 'the first call to start');
    expect(b.settled || c.settled).toBe(false);
    expect(pool.runningKeys()).toEqual(['a', 'b', 'c']);

    g.release();
    await Promise.all([blocked, b.promise, c.promise]);
    expect(order).toEqual(['a', 'b', 'c']);
    expect(pool.statsBuffers()).toHaveLength(1);
  });

  it('fails a queued call past its deadline without ever running it', async () => {
    const pool = makePool({ size: 1 });
    const g = gate();
    const blocked = pool.run('blockUntilReleased', [g.cells], { key: 'a', timeoutMs: 5_000 });
    const error = await pool.run('echo', ['late'], { key: 'b', timeoutMs: 50 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'DeadlineError', stillRunning: false, task: { key: 'b', statsBuffer: null } });
    expect(pool.runningKeys()).toEqual(['a']);

    g.release();
    await blocked;
    await expect(pool.run('echo', ['again'], { key: 'b', timeoutMs: 5_000 })).resolves.toBe('again');
    expect(handledCalls(pool)).toBe(2);
  });

  it('rejects the call of a worker that exits mid-call and replaces the worker', async () => {
    const pool = makePool({ size: 1 });
    const first = await pool.run<number>('threadId', [], { timeoutMs: 5_000 });
    await expect(pool.run('exit', [3], { key: 'gpu0', timeoutMs: 5_000 })).rejects.toThrow('probe: worker exited with code 3');
    expect(pool.runningKeys()).toEqual([]);
    const next = await pool.run<number>('threadId', [], { key: 'gpu0', timeoutMs: 5_000 });
    expect(next).not.toBe(first);
    // The dead worker's statistics are kept.
    expect(handledCalls(pool)).toBe(3);
  });

  it('rejects the call of a worker that dies with an uncaught error and replaces the worker', async () => {
    const pool = makePool({ size: 1 });
    const first = await pool.run<number>('threadId', [], { timeoutMs: 5_000 });
    const error = await pool.run('poisonedReply', ['cannot encode'], { timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'TypeError', message: 'cannot encode' });
    expect(pool.runningKeys()).toEqual([]);
    await expect(pool.run('threadId', [], { timeoutMs: 5_000 })).resolves.not.toBe(first);
  });

  it('refuses every new call at once while maxStuck workers are stuck', async () => {
    const pool = makePool({ size: 2, maxStuck: 1 });
    const g = gate();
    await expect(pool.run('blockUntilReleased', [g.cells], { key: 'gpu0', timeoutMs: 50 })).rejects.toBeInstanceOf(DeadlineError);
    const refused = await pool.run('echo', [1], { key: 'gpu1', timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ name: 'DeadlineError', stillRunning: true, timeoutMs: 0, task: { key: 'gpu1', statsBuffer: null } });

    g.release();
    await waitFor(() => pool.stuckCount() === 0, 'the stuck call to return');
    await expect(pool.run('echo', [1], { key: 'gpu1', timeoutMs: 5_000 })).resolves.toBe(1);
  });

  it('starts workers up front with warm()', () => {
    const pool = makePool({ size: 3 });
    pool.warm(2);
    expect(pool.statsBuffers()).toHaveLength(2);
    pool.warm();
    expect(pool.statsBuffers()).toHaveLength(3);
  });

  it('close() rejects running and queued calls and refuses new ones', async () => {
    const pool = makePool({ size: 1 });
    const g = gate();
    const running = pool.run('blockUntilReleased', [g.cells], { key: 'a', timeoutMs: 5_000 }).catch((e: unknown) => e);
    const queued = pool.run('echo', ['b'], { key: 'b', timeoutMs: 5_000 }).catch((e: unknown) => e);
    await waitFor(() => g.entered === 1, 'the first call to start');
    await pool.close();
    expect(await running).toMatchObject({ message: 'probe: pool closed' });
    expect(await queued).toMatchObject({ message: 'probe: pool closed' });
    await expect(pool.run('echo', [1], { timeoutMs: 5_000 })).rejects.toThrow('probe: pool is closed');
  });
});

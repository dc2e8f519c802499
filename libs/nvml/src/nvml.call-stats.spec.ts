import { afterEach, describe, expect, it, vi } from 'vitest';
import { CallStatsReader, CallStatsWriter, NVML_LATENCY_BUCKETS_MS } from './nvml.call-stats.js';

const FUNCTIONS = ['nvmlInit_v2', 'nvmlDeviceGetTemperature', 'nvmlDeviceGetPowerUsage'] as const;
const [INIT, TEMPERATURE, POWER] = [0, 1, 2];

function block(): { buffer: SharedArrayBuffer; writer: CallStatsWriter } {
  const buffer = new SharedArrayBuffer(CallStatsWriter.byteLength(FUNCTIONS.length));
  return { buffer, writer: new CallStatsWriter(buffer, FUNCTIONS) };
}

/** Records one call of `index` that took exactly `ms` and returned `code`. */
function record(writer: CallStatsWriter, index: number, ms: number, code = 0): void {
  vi.spyOn(performance, 'now').mockReturnValue(1_000 + ms);
  writer.leave(index, 1_000, code);
  vi.restoreAllMocks();
}

afterEach(() => vi.restoreAllMocks());

describe('CallStatsWriter / CallStatsReader', () => {
  const reader = new CallStatsReader(FUNCTIONS);

  it('sizes a block as a three-cell header plus one row of counters per function', () => {
    // calls, sum, 18 counted codes + other, 12 bounds + Inf
    const perFunction = 2 + 19 + NVML_LATENCY_BUCKETS_MS.length + 1;
    expect(CallStatsWriter.byteLength(3)).toBe((3 + 3 * perFunction) * 8);
  });

  it('reports nothing for a block no call went through', () => {
    const { buffer } = block();
    expect(reader.inFlight(buffer)).toBeNull();
    expect(reader.summarize([buffer])).toEqual([]);
  });

  it('names the function a thread is blocked in and since when, until it leaves', () => {
    const { buffer, writer } = block();
    const before = Date.now();
    const startedAt = writer.enter(TEMPERATURE);
    const blocked = reader.inFlight(buffer);
    expect(blocked?.fn).toBe('nvmlDeviceGetTemperature');
    // The start is this thread's monotonic clock made an epoch time: within a few ms of Date.now().
    expect(blocked?.sinceMs).toBeGreaterThanOrEqual(before - 5);
    expect(blocked?.sinceMs).toBeLessThanOrEqual(Date.now() + 5);
    writer.leave(TEMPERATURE, startedAt, 0);
    expect(reader.inFlight(buffer)).toBeNull();
  });

  it('counts calls, time and errors by code, with unlisted codes under -1', () => {
    const { buffer, writer } = block();
    record(writer, TEMPERATURE, 2, 0);
    record(writer, TEMPERATURE, 3, 15);
    record(writer, TEMPERATURE, 1, 15);
    record(writer, TEMPERATURE, 1, 999);
    record(writer, TEMPERATURE, 1, 26);
    record(writer, POWER, 0.5, 3);
    const stats = reader.summarize([buffer]);
    expect(stats.map((s) => s.fn)).toEqual(['nvmlDeviceGetTemperature', 'nvmlDeviceGetPowerUsage']);
    expect(stats[0]).toMatchObject({ calls: 5, totalMs: 8, errorsByCode: { 15: 2, 999: 1, [-1]: 1 } });
    expect(stats[1]).toMatchObject({ calls: 1, totalMs: 0.5, errorsByCode: { 3: 1 } });
  });

  it('fills a cumulative histogram whose bounds are inclusive (Prometheus le)', () => {
    const { buffer, writer } = block();
    for (const ms of [0.01, 0.011, 0.5, 7, 5_000, 60_000]) record(writer, INIT, ms);
    const [init] = reader.summarize([buffer]);
    const le = (bound: number | '+Inf') =>
      init!.cumulativeBuckets[bound === '+Inf' ? NVML_LATENCY_BUCKETS_MS.length : NVML_LATENCY_BUCKETS_MS.indexOf(bound as never)];
    expect(init!.cumulativeBuckets).toHaveLength(NVML_LATENCY_BUCKETS_MS.length + 1);
    expect(le(0.01)).toBe(1);
    expect(le(0.05)).toBe(2);
    expect(le(0.5)).toBe(3);
    expect(le(5)).toBe(3);
    expect(le(10)).toBe(4);
    expect(le(5000)).toBe(5);
    expect(le('+Inf')).toBe(6);
    expect(init!.cumulativeBuckets.toSorted((a, b) => a - b)).toEqual(init!.cumulativeBuckets);
  });

  it('sums the blocks of several threads', () => {
    const a = block();
    const b = block();
    record(a.writer, POWER, 1, 0);
    record(b.writer, POWER, 2, 4);
    record(b.writer, INIT, 4, 9);
    expect(reader.summarize([a.buffer, b.buffer])).toEqual([
      { fn: 'nvmlInit_v2', calls: 1, totalMs: 4, errorsByCode: { 9: 1 }, cumulativeBuckets: [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1] },
      { fn: 'nvmlDeviceGetPowerUsage', calls: 2, totalMs: 3, errorsByCode: { 4: 1 }, cumulativeBuckets: [0, 0, 0, 0, 1, 2, 2, 2, 2, 2, 2, 2, 2] },
    ]);
  });

  it('reads a block written by another thread through shared memory', async () => {
    const { buffer } = block();
    const { Worker } = await import('node:worker_threads');
    const source = `
      const { workerData } = require('node:worker_threads');
      const cells = new Float64Array(workerData);
      cells[0] = 1; cells[1] = 234; cells[2] = 1000;
    `;
    await new Promise((resolve, reject) => {
      const worker = new Worker(source, { eval: true, workerData: buffer });
      worker.once('exit', resolve);
      worker.once('error', reject);
    });
    expect(reader.inFlight(buffer)).toEqual({ fn: 'nvmlDeviceGetTemperature', sinceMs: 1234 });
  });
});

import { describe, expect, it } from 'vitest';
import { type CallTrace, DeadlineCalls, Hang } from './fake-calls.js';

class Late extends Error {
  constructor(
    readonly key: string,
    readonly trace: CallTrace,
    readonly timeoutMs: number,
  ) {
    super(`${key} late`);
  }
}

const calls = () => new DeadlineCalls((key, trace, timeoutMs) => new Late(key, { ...trace }, timeoutMs));

describe('DeadlineCalls', () => {
  it('shares a running call between callers of one key, and runs other keys apart', async () => {
    const c = calls();
    const hang = new Hang();
    let runs = 0;
    const work = async () => {
      runs++;
      await hang.hold();
      return runs;
    };
    const a = c.run('gpu0', 1_000, work);
    const b = c.run('gpu0', 1_000, work);
    const other = c.run('gpu1', 1_000, async () => 'other');
    expect(b).toBe(a);
    await expect(other).resolves.toBe('other');
    hang.release();
    expect(await a).toBe(1);
    expect(runs).toBe(1);
    expect(c.maxInFlight()).toBe(2);
    expect(c.keys()).toEqual([]);
  });

  it('rejects at the deadline naming the function the call is blocked in, then refuses the key at once until the call returns', async () => {
    const c = calls();
    const hang = new Hang();
    const started = Date.now();
    const late = await c
      .run('gpu0', 50, async (trace) => {
        trace.blockedIn = 'nvmlDeviceGetTemperature';
        await hang.hold();
        trace.blockedIn = null;
      })
      .catch((e: unknown) => e);
    expect(late).toBeInstanceOf(Late);
    expect(late).toMatchObject({ key: 'gpu0', timeoutMs: 50, trace: { blockedIn: 'nvmlDeviceGetTemperature' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(49);

    await expect(c.run('gpu0', 5_000, async () => 'never runs')).rejects.toMatchObject({ timeoutMs: 5_000 });
    expect(c.keys()).toEqual(['gpu0']);
    hang.release();
    await expect.poll(() => c.keys()).toEqual([]);
    await expect(c.run('gpu0', 1_000, async () => 'again')).resolves.toBe('again');
  });

  it('passes the work error through', async () => {
    await expect(calls().run('k', 1_000, async () => Promise.reject(new TypeError('boom')))).rejects.toThrow(TypeError);
  });
});

describe('Hang', () => {
  it('holds every call until released, then lets later calls through', async () => {
    const hang = new Hang();
    let done = 0;
    const held = [hang.hold().then(() => done++), hang.hold().then(() => done++)];
    await Promise.resolve();
    expect([hang.entered, done, hang.released]).toEqual([2, 0, false]);
    hang.release();
    await Promise.all(held);
    await hang.hold();
    expect([hang.entered, done, hang.released]).toEqual([3, 2, true]);
  });

  it('holds each call for its own delay when given one', async () => {
    const hang = new Hang(30);
    const started = performance.now();
    await hang.hold();
    expect(performance.now() - started).toBeGreaterThanOrEqual(29);
  });
});

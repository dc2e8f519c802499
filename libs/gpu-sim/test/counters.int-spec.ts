import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { ensureSimBuilt, readSimCounters, updateScenario, writeScenario, type SimScenario } from '@app/gpu-sim';

import { pick, runDriver, startDriver } from './driver.js';

beforeAll(() => {
  ensureSimBuilt();
});

function countersFile(): string {
  return join(mkdtempSync(join(tmpdir(), 'gpu-sim-counters-')), 'counters.bin');
}

async function waitFor<T>(read: () => T, ok: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('call counters', () => {
  it('count calls per function, and calls made after the last nvmlShutdown', async () => {
    const countersPath = countersFile();
    const scenarioPath = writeScenario({ preset: 'h200' });
    await runDriver(
      ['init', 'count', 'repeat', '3', 'temp', '0', 'shutdown', 'count', 'error_string', '1', 'init', 'count', 'shutdown'],
      { scenarioPath, countersPath },
    );
    const c = readSimCounters(countersPath);
    expect(c.nvmlInit_v2).toEqual({ calls: 2, inFlight: 0, maxInFlight: 1, callsAfterShutdown: 0 });
    expect(c.nvmlDeviceGetCount_v2).toMatchObject({ calls: 3, callsAfterShutdown: 1 });
    expect(c.nvmlDeviceGetTemperature).toMatchObject({ calls: 3, callsAfterShutdown: 0 });
    expect(c.nvmlDeviceGetHandleByIndex_v2).toMatchObject({ calls: 3, callsAfterShutdown: 0 });
    expect(c.nvmlShutdown).toMatchObject({ calls: 2, callsAfterShutdown: 0 });
    expect(c.nvmlErrorString).toMatchObject({ calls: 1, callsAfterShutdown: 0 });
  });

  it('track calls in flight and the most at once', async () => {
    const countersPath = countersFile();
    const scenarioPath = writeScenario({
      preset: 'h200',
      faults: [{ function: 'nvmlDeviceGetTemperature', delayMs: 3000 }],
    });
    const driver = startDriver(
      ['init', 'bg', 'temp', '0', 'bg', 'temp', '0', 'bg', 'temp', '0', 'bg', 'temp', '0', 'sync', 'join'],
      { scenarioPath, countersPath },
    );
    expect((await driver.next()).cmd).toBe('init');
    expect((await driver.next()).cmd).toBe('sync');
    const during = await waitFor(
      () => readSimCounters(countersPath).nvmlDeviceGetTemperature,
      (t) => t?.inFlight === 4,
      2500,
    );
    expect(during).toMatchObject({ calls: 4, inFlight: 4, maxInFlight: 4 });
    driver.resume();
    const rest = await driver.finish();
    expect(rest.filter((l) => l.cmd === 'temp' && l.rc === 0)).toHaveLength(4);
    expect(readSimCounters(countersPath).nvmlDeviceGetTemperature).toEqual({
      calls: 4,
      inFlight: 0,
      maxInFlight: 4,
      callsAfterShutdown: 0,
    });
  });

  it('one file serves several processes and both libraries', async () => {
    const countersPath = countersFile();
    const scenarioPath = writeScenario({ preset: 'h100x8' });
    const runs = await Promise.all(
      [0, 1, 2].map(() => runDriver(['init', 'count', 'cu_init', 'cu_count', 'cu_smoke', '0', '4096'], { scenarioPath, countersPath })),
    );
    for (const lines of runs) expect(pick(lines, 'cu_smoke').rc).toBe(0);
    const c = readSimCounters(countersPath);
    expect(c.nvmlInit_v2?.calls).toBe(3);
    expect(c.nvmlDeviceGetCount_v2?.calls).toBe(3);
    expect(c.cuInit?.calls).toBe(3);
    expect(c.cuMemAlloc_v2?.calls).toBe(3);
    expect(c.cuMemcpyDtoH_v2?.calls).toBe(6);
    expect(Object.values(c).every((v) => v.inFlight === 0)).toBe(true);
  });
});

const hammered = (temperatureCelsius: number): SimScenario => ({
  preset: 'h100x8',
  gpus: [{ index: 0, temperatureCelsius }],
  faults: [{ function: 'nvmlDeviceGetTemperature', delayMs: 1 }],
});

describe('thread safety', () => {
  it('eight threads hammering eight GPUs while the scenario is rewritten: every call succeeds and is counted', async () => {
    const countersPath = countersFile();
    const scenarioPath = writeScenario(hammered(41));
    const args = ['init'];
    for (let g = 0; g < 8; g++) args.push('bg', 'repeat', '300', g % 2 ? 'memory' : 'temp', `${g}`);
    args.push('sync', 'join', 'until', 'value=55', '5000', 'temp', '0');
    const driver = startDriver(args, { scenarioPath, countersPath });
    expect((await driver.next()).rc).toBe(0);
    // the sync line may come after some bg lines: read until it shows up
    const early = [];
    for (let l = await driver.next(); l.cmd !== 'sync'; l = await driver.next()) early.push(l);
    updateScenario(scenarioPath, hammered(55));
    driver.resume();
    const lines = [...early, ...(await driver.finish())];
    const bg = lines.filter((l) => l.thread === 'bg');
    expect(bg).toHaveLength(8);
    for (const l of bg) expect(new Set(l.rcs)).toEqual(new Set([0]));
    const last = lines.find((l) => l.cmd === 'temp' && l.thread === undefined)!;
    expect(last.until!.matched).toBe(true);
    const c = readSimCounters(countersPath);
    expect(c.nvmlDeviceGetTemperature!.calls).toBe(4 * 300 + last.until!.attempts);
    expect(c.nvmlDeviceGetMemoryInfo!.calls).toBe(4 * 300);
    expect(c.nvmlDeviceGetTemperature!.maxInFlight).toBeGreaterThanOrEqual(2);
    expect(Object.values(c).every((v) => v.inFlight === 0)).toBe(true);
  });
});

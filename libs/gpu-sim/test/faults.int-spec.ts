import { beforeAll, describe, expect, it } from 'vitest';

import { ensureSimBuilt, updateScenario, writeScenario, type SimScenario } from '@app/gpu-sim';

import { pick, runDriver, startDriver } from './driver.js';

beforeAll(() => {
  ensureSimBuilt();
});

describe('NVML faults', () => {
  it('a call window: after 2 matching calls, for 2 calls', async () => {
    const scenarioPath = writeScenario({
      preset: 'h100x8',
      faults: [{ function: 'nvmlDeviceGetTemperature', gpu: 1, returnCode: 'NVML_ERROR_GPU_IS_LOST', afterCalls: 2, calls: 2 }],
    });
    const lines = await runDriver(['init', 'repeat', '6', 'temp', '1', 'repeat', '3', 'temp', '0'], { scenarioPath });
    expect(pick(lines, 'temp', 0).rcs).toEqual([0, 0, 15, 15, 0, 0]);
    expect(pick(lines, 'temp', 1).rcs).toEqual([0, 0, 0]);
  });

  it('a time window: from 300 ms to 900 ms after the first nvmlInit_v2', async () => {
    const scenarioPath = writeScenario({
      preset: 'h200',
      faults: [{ function: 'nvmlDeviceGetPowerUsage', returnCode: 999, fromMs: 300, untilMs: 900 }],
    });
    const lines = await runDriver(
      ['init', 'power', '0', 'until', 'rc=999', '5000', 'power', '0', 'until', 'rc=0', '5000', 'power', '0'],
      { scenarioPath },
    );
    expect(pick(lines, 'power', 0).rc).toBe(0);
    const start = pick(lines, 'power', 1).until!;
    const end = pick(lines, 'power', 2).until!;
    expect(start.matched).toBe(true);
    expect(end.matched).toBe(true);
    expect(start.waitedMs).toBeGreaterThanOrEqual(150);
    expect(start.waitedMs + end.waitedMs).toBeGreaterThanOrEqual(750);
  });

  it('a GPU lost (function = *, gpu = 2): every call for that GPU fails the same way, others work', async () => {
    const scenarioPath = writeScenario({
      preset: 'h100x8',
      faults: [{ function: '*', gpu: 2, returnCode: 15, fromMs: 0, untilMs: 60_000 }],
    });
    const lines = await runDriver(
      ['init', 'count', 'handle', '2', 'handle', 'uuid:GPU-c5a1f3e8-6d2b-4a79-b0c4-1e8f7a6d5c62', 'handle', 'pci:0000:3A:00.0',
        'temp', '1', 'name', '3'],
      { scenarioPath },
    );
    expect(pick(lines, 'count').value).toBe(8);
    expect([0, 1, 2].map((n) => pick(lines, 'handle', n).rc)).toEqual([15, 15, 15]);
    expect(pick(lines, 'temp').value).toBe(36);
    expect(pick(lines, 'name').rc).toBe(0);
  });

  it('a GPU lost after its handle was taken: calls on the old handle fail too', async () => {
    const scenarioPath = writeScenario({
      preset: 'h100x8',
      faults: [{ function: '*', gpu: 'GPU-c5a1f3e8-6d2b-4a79-b0c4-1e8f7a6d5c62', returnCode: 15, afterCalls: 1 }],
    });
    // the driver takes the handle anew for every command: the first lookup passes, the rest fail
    const lines = await runDriver(['init', 'handle', '2', 'temp', '2', 'memory', '2'], { scenarioPath });
    expect(pick(lines, 'handle').rc).toBe(0);
    expect(pick(lines, 'temp').rc).toBe(15);
    expect(pick(lines, 'memory').rc).toBe(15);
  });

  it('nvmlInit_v2 can fail with a given code', async () => {
    const scenarioPath = writeScenario({ preset: 'h200', faults: [{ function: 'nvmlInit_v2', returnCode: 18 }] });
    const lines = await runDriver(['init', 'count', 'error_string', '18'], { scenarioPath });
    expect(pick(lines, 'init').rc).toBe(18);
    expect(pick(lines, 'count').rc).toBe(1);
    expect(pick(lines, 'error_string').value).toBe('Driver/library version mismatch');
  });

  it('NVML_ERROR_UNKNOWN on every function, nvmlInit_v2 included, from 1 s on', async () => {
    const scenarioPath = writeScenario({ preset: 'h200', faults: [{ function: '*', returnCode: 999, fromMs: 1000 }] });
    const lines = await runDriver(
      ['init', 'temp', '0', 'until', 'rc=999', '5000', 'count', 'temp', '0', 'shutdown', 'init'],
      { scenarioPath },
    );
    expect(pick(lines, 'init', 0).rc).toBe(0);
    expect(pick(lines, 'temp', 0).rc).toBe(0);
    expect(pick(lines, 'count').until!.waitedMs).toBeGreaterThanOrEqual(800);
    expect(pick(lines, 'temp', 1).rc).toBe(999);
    expect(pick(lines, 'shutdown').rc).toBe(999);
    expect(pick(lines, 'init', 1).rc).toBe(999);
  });

  it('a 2 s delay on one GPU does not hold up a call for another GPU on another thread', async () => {
    const scenarioPath = writeScenario({
      preset: 'h100x8',
      faults: [{ function: 'nvmlDeviceGetTemperature', gpu: 1, delayMs: 2000 }],
    });
    const lines = await runDriver(['init', 'bg', 'temp', '1', 'temp', '0', 'power', '1', 'join'], { scenarioPath });
    const slow = lines.find((l) => l.thread === 'bg')!;
    const fast = lines.find((l) => l.cmd === 'temp' && l.thread === undefined)!;
    expect(slow.rc).toBe(0);
    expect(slow.ms).toBeGreaterThanOrEqual(1990);
    expect(fast.rc).toBe(0);
    expect(fast.ms).toBeLessThan(500);
    expect(pick(lines, 'power').ms).toBeLessThan(500); // same GPU, other function
    expect(lines.indexOf(fast)).toBeLessThan(lines.indexOf(slow));
  });
});

describe('scenario reload', () => {
  it('picks up a rewritten file while running; handles stay valid; fault clocks keep their start', async () => {
    const base: SimScenario = {
      preset: 'h200',
      faults: [{ function: 'nvmlDeviceGetEnforcedPowerLimit', returnCode: 999, fromMs: 200 }],
    };
    const scenarioPath = writeScenario(base);
    const driver = startDriver(
      ['init', 'handle', '0', 'temp', '0', 'until', 'rc=999', '5000', 'power_limit', '0', 'sync',
        'until', 'value=77', '5000', 'temp', '0', 'handle', '0', 'power', '0', 'name', '0', 'uuid', '0'],
      { scenarioPath },
    );
    const lines = [await driver.next(), await driver.next(), await driver.next(), await driver.next()];
    expect(pick(lines, 'temp').value).toBe(41);
    expect(pick(lines, 'power_limit').until!.matched).toBe(true); // more than 200 ms since init
    expect((await driver.next()).cmd).toBe('sync');
    updateScenario(scenarioPath, {
      preset: 'h200',
      gpus: [{ temperatureCelsius: 77 }],
      faults: [
        // already over if the clock still counts from the first nvmlInit_v2 (it is > 200 ms)
        { function: 'nvmlDeviceGetPowerUsage', returnCode: 999, fromMs: 0, untilMs: 150 },
        // already on for the same reason
        { function: 'nvmlDeviceGetName', returnCode: 3, fromMs: 100 },
      ],
    });
    driver.resume();
    const rest = await driver.finish();
    expect(pick(rest, 'temp').until!.matched).toBe(true);
    expect(pick(rest, 'handle').value).toBe(pick(lines, 'handle').value);
    expect(pick(rest, 'power').rc).toBe(0);
    expect(pick(rest, 'name').rc).toBe(3);
    expect(pick(rest, 'uuid').value).toBe('GPU-a7edcf28-a056-2c49-34b6-5db71afeea6a');
  });

  it('keeps the old scenario when the new text is broken', async () => {
    const scenarioPath = writeScenario({ preset: 'h200', gpus: [{ temperatureCelsius: 50 }] });
    // waits until the library has seen (and refused) the new text, then reads the temperature
    const refused = JSON.stringify({
      simulator: 'gpu-sim',
      preset: 'h200',
      scenario: scenarioPath,
      error: `${scenarioPath}:3: expected 'key = value'`,
    });
    const driver = startDriver(['init', 'temp', '0', 'sync', 'until', `value=${refused}`, '5000', 'describe', 'temp', '0'], {
      scenarioPath,
    });
    expect((await driver.next()).rc).toBe(0);
    expect((await driver.next()).value).toBe(50);
    expect((await driver.next()).cmd).toBe('sync');
    const { writeFileSync, renameSync } = await import('node:fs');
    writeFileSync(`${scenarioPath}.tmp`, '[gpu 0]\ntemperature_c = 51\nnonsense\n');
    renameSync(`${scenarioPath}.tmp`, scenarioPath);
    driver.resume();
    const rest = await driver.finish();
    expect(pick(rest, 'describe').until!.matched).toBe(true);
    expect(pick(rest, 'temp').value).toBe(50);
  });
});

describe('CUDA faults', () => {
  it('cuInit can answer a given code (e.g. 100)', async () => {
    const scenarioPath = writeScenario({ preset: 'h200', cudaFaults: [{ function: 'cuInit', returnCode: 100 }] });
    const lines = await runDriver(['cu_init', 'cu_count', 'cu_error_string', '100'], { scenarioPath });
    expect(pick(lines, 'cu_init').rc).toBe(100);
    expect(pick(lines, 'cu_count').rc).toBe(3);
    expect(pick(lines, 'cu_error_string').value).toBe('no CUDA-capable device is detected');
  });

  it('an allocation failure and a delay on one device', async () => {
    const scenarioPath = writeScenario({
      preset: 'h100x8',
      cudaFaults: [
        { function: 'cuMemAlloc_v2', gpu: 3, returnCode: 'CUDA_ERROR_OUT_OF_MEMORY' },
        { function: 'cuDeviceGetName', gpu: 5, delayMs: 700 },
      ],
    });
    const lines = await runDriver(
      ['cu_init', 'cu_devices', 'cu_smoke', '3', 'cu_smoke', '2', 'cu_name', '5', 'cu_name', '4'],
      { scenarioPath, env: { CUDA_DEVICE_ORDER: 'PCI_BUS_ID' } },
    );
    expect(pick(lines, 'cu_smoke', 0)).toMatchObject({ rc: 2, stage: 'alloc' });
    expect(pick(lines, 'cu_smoke', 1)).toMatchObject({ rc: 0, stage: 'done' });
    expect(pick(lines, 'cu_name', 0).ms).toBeGreaterThanOrEqual(690);
    expect(pick(lines, 'cu_name', 1).ms).toBeLessThan(300);
  });

  it('a corrupted copy back: cuMemcpyDtoH_v2 succeeds with one byte flipped', async () => {
    const scenarioPath = writeScenario({
      preset: 'h200',
      cudaFaults: [{ function: 'cuMemcpyDtoH_v2', corruptCopy: true, corruptOffset: 4096, calls: 1 }],
    });
    const lines = await runDriver(['cu_init', 'cu_smoke', '0', '65536', 'cu_smoke', '0', '65536'], { scenarioPath });
    expect(pick(lines, 'cu_smoke', 0)).toMatchObject({ rc: 0, value: { mismatches: 1, firstBad: 4096 } });
    expect(pick(lines, 'cu_smoke', 1)).toMatchObject({ rc: 0, value: { mismatches: 0 } });
  });
});

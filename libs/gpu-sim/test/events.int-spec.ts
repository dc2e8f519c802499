import { beforeAll, describe, expect, it } from 'vitest';

import { ensureSimBuilt, presetPath, updateScenario, writeScenario } from '@app/gpu-sim';

import { pick, runDriver, startDriver } from './driver.js';

beforeAll(() => {
  ensureSimBuilt();
});

const GPU4 = 'GPU-7a6b5c4d-3e2f-4109-8f7e-6d5c4b3a2984'; // h100x8 GPU 4
const NONE = 0xffffffff;

describe('XID events', () => {
  it('are delivered through nvmlEventSetWait_v2 to sets registered for that GPU, then it times out', async () => {
    const scenarioPath = writeScenario({
      preset: 'h100x8',
      xidEvents: [{ gpu: 4, xid: 79, atMs: 500, count: 3, intervalMs: 100 }],
    });
    const lines = await runDriver(
      ['init', 'event_create', 'register', '4', '8', 'register', '0', '8',
        'wait_event', '5000', 'wait_event', '5000', 'wait_event', '5000', 'wait_event', '300', 'event_free'],
      { scenarioPath },
    );
    for (let n = 0; n < 3; n++) {
      expect(pick(lines, 'wait_event', n)).toMatchObject({
        rc: 0,
        value: { type: 8, data: 79, gi: NONE, ci: NONE, uuid: GPU4 },
      });
    }
    const timeout = pick(lines, 'wait_event', 3);
    expect(timeout.rc).toBe(10);
    expect(timeout.ms).toBeGreaterThanOrEqual(295);
    expect(pick(lines, 'event_free').rc).toBe(0);
  });

  it('are not delivered to a set that did not register that GPU for XIDs', async () => {
    const scenarioPath = writeScenario({ preset: 'h100x8', xidEvents: [{ gpu: 4, xid: 48, atMs: 0 }] });
    const lines = await runDriver(
      ['init', 'event_create', 'register', '0', '8', 'register', '4', '4', 'wait_event', '400'],
      { scenarioPath },
    );
    expect(pick(lines, 'wait_event').rc).toBe(10);
  });

  it('registering an unsupported event type answers Not Supported', async () => {
    const lines = await runDriver(['init', 'event_types', '0', 'event_create', 'register', '0', '0x100', 'register', '0', '8'], {
      scenarioPath: presetPath('mixed-order'),
    });
    expect(pick(lines, 'event_types').value).toBe(0x1f);
    expect(pick(lines, 'register', 0).rc).toBe(3);
    expect(pick(lines, 'register', 1).rc).toBe(0);
  });

  it('carry MIG attribution when the scenario gives it', async () => {
    const scenarioPath = writeScenario({
      preset: 'a100-mig',
      xidEvents: [{ gpu: 0, xid: 94, atMs: 100, gpuInstanceId: 1, computeInstanceId: 0 }],
    });
    const lines = await runDriver(['init', 'event_create', 'register', '0', '8', 'wait_event', '5000'], { scenarioPath });
    expect(pick(lines, 'wait_event').value).toMatchObject({ data: 94, gi: 1, ci: 0 });
  });

  it('can be added while a process waits, by rewriting the scenario', async () => {
    const scenarioPath = writeScenario({ preset: 'h200' });
    const driver = startDriver(['init', 'event_create', 'register', '0', '8', 'sync', 'wait_event', '10000'], {
      scenarioPath,
    });
    for (let i = 0; i < 3; i++) expect((await driver.next()).rc).toBe(0);
    expect((await driver.next()).cmd).toBe('sync');
    updateScenario(scenarioPath, { preset: 'h200', xidEvents: [{ gpu: 0, xid: 31, atEpochMs: Date.now() + 200 }] });
    driver.resume();
    const [wait] = await driver.finish();
    expect(wait).toMatchObject({ cmd: 'wait_event', rc: 0, value: { data: 31, uuid: 'GPU-a7edcf28-a056-2c49-34b6-5db71afeea6a' } });
  });
});

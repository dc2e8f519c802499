import { describe, expect, it } from 'vitest';
import { GpuHealthState } from './gpu.health-state.js';
import type { Finding } from './gpu.policy.js';

const thermal: Finding = { reason: 'thermal_slowdown', detail: 'hot' };
const lost: Finding = { reason: 'gpu_lost', nvmlCode: 15, detail: 'lost' };
const unknown: Finding = { reason: 'nvml_unknown_error', nvmlCode: 999, detail: '999' };
const timeout: Finding = { reason: 'nvml_timeout', detail: 'late' };

describe('GPU health state', () => {
  it('warns on a transient finding and recovers after N good samples', () => {
    const s = new GpuHealthState(0);
    expect(s.observeSample([thermal], true, 0, 3, 10)).toMatchObject({ from: 'up', to: 'degraded', atMs: 10, previousDurationMs: 10 });
    expect(s.observeSample([], true, 0, 3, 20)).toBeNull();
    expect(s.observeSample([], true, 0, 3, 30)).toBeNull();
    expect(s.status).toBe('degraded');
    // A relapse resets the count.
    expect(s.observeSample([thermal], true, 0, 3, 40)).toBeNull();
    s.observeSample([], true, 0, 3, 50);
    s.observeSample([], true, 0, 3, 60);
    expect(s.observeSample([], true, 0, 3, 70)).toMatchObject({ from: 'degraded', to: 'up', previousDurationMs: 60 });
  });

  it('keeps a hardware finding until a re-initialisation and a normal answer', () => {
    const s = new GpuHealthState(0);
    expect(s.observeSample([lost], false, 0, 3, 1)?.to).toBe('down');
    expect(s.observeSample([], true, 0, 3, 2)).toBeNull();
    expect(s.wantsReinit()).toBe(true);
    expect(s.observeSample([lost], false, 1, 3, 3)).toBeNull();
    expect(s.observeSample([], true, 1, 3, 4)).toBeNull(); // raised again in generation 1
    expect(s.observeSample([], true, 2, 3, 5)?.to).toBe('up');
    expect(s.wantsReinit()).toBe(false);
  });

  it('clears a timeout with the next completed sample', () => {
    const s = new GpuHealthState(0);
    expect(s.raise(timeout, 0, 1)?.to).toBe('down');
    expect(s.observeSample([], true, 0, 3, 2)?.to).toBe('up');
  });

  it('ages restart-class findings for liveness', () => {
    const s = new GpuHealthState(0);
    s.observeSample([unknown], false, 0, 3, 100);
    s.observeSample([unknown], false, 0, 3, 200);
    expect(s.restartClassAgeMs(1100)).toBe(1000);
    s.observeSample([], true, 0, 3, 300);
    expect(s.restartClassAgeMs(1100)).toBeNull();
  });

  it('is down while any failing finding remains, degraded with warnings only', () => {
    const s = new GpuHealthState(0);
    s.observeSample([thermal, timeout], true, 0, 1, 1);
    expect(s.status).toBe('down');
    expect(s.findings().map((f) => [f.reason, f.effect])).toEqual([
      ['thermal_slowdown', 'warn'],
      ['nvml_timeout', 'fail'],
    ]);
    s.observeSample([thermal], true, 0, 1, 2);
    expect(s.status).toBe('degraded');
  });
});

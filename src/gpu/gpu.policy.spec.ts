import type { NvmlDeviceSample } from '@app/nvml';
import { nvmlPreset, presetReadings } from '@app/nvml/testing';
import { describe, expect, it } from 'vitest';
import { clockEventNames, detectFindings, GPU_POLICY, isCriticalXid, reasonForNvmlCode } from './gpu.policy.js';

function sample(readings: Partial<NvmlDeviceSample['readings']> = {}, failure: NvmlDeviceSample['failure'] = null): NvmlDeviceSample {
  return {
    uuid: 'GPU-1',
    sampledAtMs: 0,
    durationMs: 1,
    errors: {},
    failure,
    // An idle H200 with a small framebuffer, so free-memory thresholds are easy to cross.
    readings: presetReadings(nvmlPreset('h200').gpus[0]!, { memoryTotalBytes: 100, memoryReservedBytes: 1, memoryUsedBytes: 9, memoryFreeBytes: 90, ...readings }),
  };
}

const reasons = (s: NvmlDeviceSample, baseline: number | null = 0, minFree = 0) =>
  detectFindings(s, baseline, { minFreeMemoryBytes: minFree }).map((f) => f.reason);

describe('health policy', () => {
  it('finds nothing on a healthy idle GPU', () => {
    expect(reasons(sample())).toEqual([]);
  });

  it('maps device-wide NVML errors to their reasons and classes', () => {
    expect(reasonForNvmlCode(15)).toBe('gpu_lost');
    expect(reasonForNvmlCode(28)).toBe('gpu_lost');
    expect(reasonForNvmlCode(999)).toBe('nvml_unknown_error');
    expect(reasonForNvmlCode(17)).toBe('nvml_operating_system');
    expect(reasonForNvmlCode(18)).toBe('nvml_version_mismatch');
    expect(reasonForNvmlCode(1)).toBe('nvml_uninitialized');
    expect(reasonForNvmlCode(42)).toBe('nvml_error');
    expect(GPU_POLICY.gpu_lost.class).toBe('hardware');
    expect(GPU_POLICY.nvml_unknown_error).toMatchObject({ class: 'restart', readiness: 'fail', liveness: 'fail' });
    const lost = detectFindings(sample({}, { code: 15, name: 'NVML_ERROR_GPU_IS_LOST', fn: 'nvmlDeviceGetMemoryInfo_v2', message: 'GPU is lost' }), 0, { minFreeMemoryBytes: 0 });
    expect(lost).toEqual([
      {
        reason: 'gpu_lost',
        nvmlCode: 15,
        nvmlName: 'NVML_ERROR_GPU_IS_LOST',
        fn: 'nvmlDeviceGetMemoryInfo_v2',
        detail: 'nvmlDeviceGetMemoryInfo_v2: NVML_ERROR_GPU_IS_LOST (15): GPU is lost',
      },
    ]);
  });

  it('flags a rising uncorrectable ECC count against the baseline only', () => {
    expect(reasons(sample({ eccVolatileUncorrected: 2 }), 2)).toEqual([]);
    expect(reasons(sample({ eccVolatileUncorrected: 3 }), 2)).toEqual(['ecc_uncorrectable']);
    expect(reasons(sample({ eccVolatileUncorrected: 3 }), null)).toEqual([]);
  });

  it('flags remapped rows: failure fails, pending warns', () => {
    expect(reasons(sample({ remappedRowsFailure: true, remappedRowsPending: true }))).toEqual(['remapped_rows_failure']);
    expect(reasons(sample({ remappedRowsPending: true }))).toEqual(['remapped_rows_pending']);
    expect(GPU_POLICY.remapped_rows_pending.readiness).toBe('warn');
    expect(GPU_POLICY.remapped_rows_failure.readiness).toBe('fail');
  });

  it('warns at the slowdown temperature and on hardware slowdown or power brake', () => {
    expect(reasons(sample({ temperatureCelsius: 88 }))).toEqual([]);
    expect(reasons(sample({ temperatureCelsius: 89 }))).toEqual(['thermal_slowdown']);
    expect(reasons(sample({ temperatureCelsius: 95, temperatureSlowdownCelsius: null }))).toEqual([]);
    expect(reasons(sample({ clockEventReasons: 0x8 }))).toEqual(['hw_slowdown']);
    expect(reasons(sample({ clockEventReasons: 0x40 }))).toEqual(['hw_slowdown']);
    expect(reasons(sample({ clockEventReasons: 0x80 }))).toEqual(['power_brake']);
    expect(reasons(sample({ clockEventReasons: 0x4 | 0x20 }))).toEqual([]);
  });

  it('fails on low free memory only when configured and only on a known value', () => {
    expect(reasons(sample({ memoryFreeBytes: 10 }), 0, 0)).toEqual([]);
    expect(reasons(sample({ memoryFreeBytes: 10 }), 0, 11)).toEqual(['low_free_memory']);
    expect(reasons(sample({ memoryFreeBytes: null }), 0, 11)).toEqual([]);
  });

  it('names clock-event reasons', () => {
    expect(clockEventNames(0x1)).toEqual(['gpu_idle']);
    expect(clockEventNames(0x88)).toEqual(['hw_slowdown', 'hw_power_brake_slowdown']);
    expect(clockEventNames(0)).toEqual([]);
  });

  it('treats every XID but the ignored ones as critical, unless a critical list is set', () => {
    const ignored = [13, 31, 43, 45, 68, 109];
    expect(isCriticalXid(79, ignored, [])).toBe(true);
    expect(isCriticalXid(13, ignored, [])).toBe(false);
    expect(isCriticalXid(79, ignored, [48])).toBe(false);
    expect(isCriticalXid(48, ignored, [48])).toBe(true);
  });
});

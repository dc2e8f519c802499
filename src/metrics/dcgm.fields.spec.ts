import type { NvmlDeviceReadings } from '@app/nvml';
import { nvmlPreset, presetReadings } from '@app/nvml/testing';
import { describe, expect, it } from 'vitest';
import { DCGM_FIELDS, toMiB, toWatts } from './dcgm.fields.js';

const MiB = 2 ** 20;

/** The H200 of the project's GPU machine, as one NVML sample read it. */
const h200Readings = (): NvmlDeviceReadings => presetReadings(nvmlPreset('h200').gpus[0]!);

const values = (r: NvmlDeviceReadings) => Object.fromEntries(DCGM_FIELDS.map((f) => [f.name, f.value(r)]));

describe('DCGM fields', () => {
  it('convert NVML readings to DCGM units: MiB, W, mJ, °C, MHz, %', () => {
    expect(values(h200Readings())).toEqual({
      DCGM_FI_DEV_SM_CLOCK: 1980,
      DCGM_FI_DEV_MEM_CLOCK: 3201,
      DCGM_FI_DEV_CLOCKS_EVENT_REASONS: 1,
      DCGM_FI_DEV_GPU_TEMP: 41,
      DCGM_FI_DEV_SLOWDOWN_TEMP: 89,
      DCGM_FI_DEV_SHUTDOWN_TEMP: 95,
      DCGM_FI_DEV_POWER_USAGE: 128.458,
      DCGM_FI_DEV_ENFORCED_POWER_LIMIT: 700,
      DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION: 2254251,
      DCGM_FI_DEV_PSTATE: 0,
      DCGM_FI_DEV_FAN_SPEED: null,
      DCGM_FI_DEV_GPU_UTIL: 0,
      DCGM_FI_DEV_MEM_COPY_UTIL: 0,
      DCGM_FI_DEV_FB_TOTAL: 143771,
      DCGM_FI_DEV_FB_FREE: 143155,
      DCGM_FI_DEV_FB_USED: 0,
      DCGM_FI_DEV_FB_RESERVED: 615,
      DCGM_FI_DEV_FB_USED_PERCENT: 0,
      DCGM_FI_DEV_ECC_CURRENT: 1,
      DCGM_FI_DEV_ECC_SBE_VOL_TOTAL: 0,
      DCGM_FI_DEV_ECC_DBE_VOL_TOTAL: 0,
      DCGM_FI_DEV_ECC_DBE_AGG_TOTAL: 0,
      DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS: 0,
      DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS: 0,
      DCGM_FI_DEV_ROW_REMAP_FAILURE: 0,
      DCGM_FI_DEV_ROW_REMAP_PENDING: 0,
      DCGM_FI_DEV_MIG_MODE: 0,
    });
  });

  it('give null (series left out) for every reading the GPU cannot report, never 0', () => {
    const none = Object.fromEntries(Object.keys(h200Readings()).map((k) => [k, k === 'migDevices' ? [] : null])) as unknown as NvmlDeviceReadings;
    for (const field of DCGM_FIELDS) expect({ [field.name]: field.value(none) }).toEqual({ [field.name]: null });
  });

  it('round framebuffer sizes down to whole MiB, as DCGM does', () => {
    expect(toMiB(12345 * MiB + 4096)).toBe(12345);
    expect(toMiB(MiB - 1)).toBe(0);
    expect(toMiB(null)).toBeNull();
    const r = { ...h200Readings(), memoryUsedBytes: 40960 * MiB + 1, memoryFreeBytes: 102194 * MiB + MiB - 1 };
    expect(values(r)).toMatchObject({ DCGM_FI_DEV_FB_USED: 40960, DCGM_FI_DEV_FB_FREE: 102194 });
  });

  it('report the used share of the usable framebuffer as a ratio from 0 to 1', () => {
    const r = { ...h200Readings(), memoryTotalBytes: 1000 * MiB, memoryReservedBytes: 200 * MiB, memoryUsedBytes: 200 * MiB };
    expect(values(r).DCGM_FI_DEV_FB_USED_PERCENT).toBe(0.25);
    expect(values({ ...r, memoryReservedBytes: null }).DCGM_FI_DEV_FB_USED_PERCENT).toBeNull();
  });

  it('convert mW to W without rounding', () => {
    expect(toWatts(128458)).toBe(128.458);
    expect(toWatts(null)).toBeNull();
  });

  it('name each field once, with a unit or a scale in its help text', () => {
    const names = DCGM_FIELDS.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    for (const field of DCGM_FIELDS) {
      expect(field.name).toMatch(/^DCGM_FI_DEV_[A-Z0-9_]+$/);
      expect(field.help, field.name).toMatch(/MHz|degrees C|, W\b|mJ|MiB|%|ratio|count|1 = |bitmask|0 \(P0/);
    }
  });
});

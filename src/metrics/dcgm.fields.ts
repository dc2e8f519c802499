import type { NvmlDeviceReadings } from '@app/nvml';

// Field names, units and semantics of NVIDIA DCGM (dcgm_fields.h, DCGM 4.x) as dcgm-exporter
// publishes them (etc/default-counters.csv, 4.x), so dashboards and alerts written for
// dcgm-exporter read these series unchanged. Values come from one NVML sample; a reading the GPU
// cannot report (null) leaves its series out, it is never written as 0.

/** One DCGM field as a Prometheus metric, computed from a sample's readings. */
export interface DcgmField {
  name: string;
  /** dcgm-exporter's Prometheus type for the field. */
  type: 'gauge' | 'counter';
  /** Help text, with the unit. */
  help: string;
  /** The value; null when the GPU cannot report it. */
  value(readings: NvmlDeviceReadings): number | null;
}

const MIB = 2 ** 20;

/** Whole MiB, rounded down: DCGM converts NVML's bytes with an integer division. */
export const toMiB = (bytes: number | null): number | null => (bytes === null ? null : Math.floor(bytes / MIB));
/** W from NVML's mW (DCGM reports power as a double in watts). */
export const toWatts = (milliwatts: number | null): number | null => (milliwatts === null ? null : milliwatts / 1000);
const flag = (value: boolean | null): number | null => (value === null ? null : value ? 1 : 0);

/** The DCGM fields the service can fill from NVML, in dcgm-exporter's order. */
export const DCGM_FIELDS: readonly DcgmField[] = [
  // Clocks
  { name: 'DCGM_FI_DEV_SM_CLOCK', type: 'gauge', help: 'SM clock frequency, MHz (nvmlDeviceGetClockInfo NVML_CLOCK_SM).', value: (r) => r.smClockMhz },
  { name: 'DCGM_FI_DEV_MEM_CLOCK', type: 'gauge', help: 'Memory clock frequency, MHz (nvmlDeviceGetClockInfo NVML_CLOCK_MEM).', value: (r) => r.memoryClockMhz },
  {
    name: 'DCGM_FI_DEV_CLOCKS_EVENT_REASONS',
    type: 'gauge',
    help: 'Current clock event reasons, a bitmask of nvmlClocksEventReason* (1 = GPU idle, 8 = HW slowdown, 64 = HW thermal, 128 = power brake).',
    value: (r) => r.clockEventReasons,
  },
  // Temperature
  { name: 'DCGM_FI_DEV_GPU_TEMP', type: 'gauge', help: 'GPU temperature, degrees C.', value: (r) => r.temperatureCelsius },
  { name: 'DCGM_FI_DEV_SLOWDOWN_TEMP', type: 'gauge', help: 'Temperature at which the GPU slows down, degrees C.', value: (r) => r.temperatureSlowdownCelsius },
  { name: 'DCGM_FI_DEV_SHUTDOWN_TEMP', type: 'gauge', help: 'Temperature at which the GPU shuts down, degrees C.', value: (r) => r.temperatureShutdownCelsius },
  // Power
  { name: 'DCGM_FI_DEV_POWER_USAGE', type: 'gauge', help: 'Power draw, W.', value: (r) => toWatts(r.powerUsageMilliwatts) },
  {
    name: 'DCGM_FI_DEV_ENFORCED_POWER_LIMIT',
    type: 'gauge',
    help: 'Power limit the driver enforces after every limiter, W.',
    value: (r) => toWatts(r.powerLimitMilliwatts),
  },
  {
    name: 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION',
    type: 'counter',
    help: 'Total energy consumed since the driver was last loaded, mJ.',
    value: (r) => r.energyConsumedMillijoules,
  },
  { name: 'DCGM_FI_DEV_PSTATE', type: 'gauge', help: 'Performance state, 0 (P0, highest) to 15 (P15, lowest).', value: (r) => r.performanceState },
  { name: 'DCGM_FI_DEV_FAN_SPEED', type: 'gauge', help: 'Fan speed, % of maximum (absent on fanless GPUs).', value: (r) => r.fanSpeedPercent },
  // Utilization (the sample period varies with the product)
  { name: 'DCGM_FI_DEV_GPU_UTIL', type: 'gauge', help: 'GPU utilization, % of the last sample period a kernel ran.', value: (r) => r.utilizationGpuPercent },
  {
    name: 'DCGM_FI_DEV_MEM_COPY_UTIL',
    type: 'gauge',
    help: 'Memory utilization, % of the last sample period device memory was read or written.',
    value: (r) => r.utilizationMemoryPercent,
  },
  // Memory usage
  { name: 'DCGM_FI_DEV_FB_TOTAL', type: 'gauge', help: 'Framebuffer memory total, MiB.', value: (r) => toMiB(r.memoryTotalBytes) },
  { name: 'DCGM_FI_DEV_FB_FREE', type: 'gauge', help: 'Framebuffer memory free, MiB.', value: (r) => toMiB(r.memoryFreeBytes) },
  { name: 'DCGM_FI_DEV_FB_USED', type: 'gauge', help: 'Framebuffer memory used, MiB (memory reserved by the driver excluded).', value: (r) => toMiB(r.memoryUsedBytes) },
  { name: 'DCGM_FI_DEV_FB_RESERVED', type: 'gauge', help: 'Framebuffer memory reserved by the driver and firmware, MiB.', value: (r) => toMiB(r.memoryReservedBytes) },
  {
    name: 'DCGM_FI_DEV_FB_USED_PERCENT',
    type: 'gauge',
    help: 'Share of the framebuffer in use, used / (total - reserved), ratio 0.0 to 1.0.',
    value: (r) => {
      if (r.memoryUsedBytes === null || r.memoryTotalBytes === null || r.memoryReservedBytes === null) return null;
      const usable = r.memoryTotalBytes - r.memoryReservedBytes;
      return usable > 0 ? r.memoryUsedBytes / usable : null;
    },
  },
  // ECC
  { name: 'DCGM_FI_DEV_ECC_CURRENT', type: 'gauge', help: 'ECC mode in effect, 1 = enabled, 0 = disabled.', value: (r) => flag(r.eccEnabled) },
  {
    name: 'DCGM_FI_DEV_ECC_SBE_VOL_TOTAL',
    type: 'counter',
    help: 'Single-bit (corrected) volatile ECC errors since the driver was loaded, count.',
    value: (r) => r.eccVolatileCorrected,
  },
  {
    name: 'DCGM_FI_DEV_ECC_DBE_VOL_TOTAL',
    type: 'counter',
    help: 'Double-bit (uncorrectable) volatile ECC errors since the driver was loaded, count.',
    value: (r) => r.eccVolatileUncorrected,
  },
  {
    name: 'DCGM_FI_DEV_ECC_DBE_AGG_TOTAL',
    type: 'counter',
    help: 'Double-bit (uncorrectable) aggregate ECC errors over the device lifetime, count.',
    value: (r) => r.eccAggregateUncorrected,
  },
  // Remapped rows
  {
    name: 'DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS',
    type: 'counter',
    help: 'Rows remapped for uncorrectable errors, count.',
    value: (r) => r.remappedRowsUncorrectable,
  },
  { name: 'DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS', type: 'counter', help: 'Rows remapped for correctable errors, count.', value: (r) => r.remappedRowsCorrectable },
  { name: 'DCGM_FI_DEV_ROW_REMAP_FAILURE', type: 'gauge', help: 'Whether a row remapping has failed, 1 = yes, 0 = no.', value: (r) => flag(r.remappedRowsFailure) },
  {
    name: 'DCGM_FI_DEV_ROW_REMAP_PENDING',
    type: 'gauge',
    help: 'Whether a row remapping waits for a GPU reset, 1 = yes, 0 = no.',
    value: (r) => flag(r.remappedRowsPending),
  },
  // MIG
  { name: 'DCGM_FI_DEV_MIG_MODE', type: 'gauge', help: 'MIG mode in effect, 1 = enabled, 0 = disabled.', value: (r) => flag(r.migEnabled) },
];

/** dcgm-exporter's XID field: the value of the last XID seen on the GPU (0 before the first). */
export const DCGM_XID_ERRORS = {
  name: 'DCGM_FI_DEV_XID_ERRORS',
  help: 'Value of the last XID error seen on the GPU (an XID number, not a count); 0 before the first.',
} as const;

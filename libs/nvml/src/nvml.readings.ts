import type { NvmlDeviceReadings } from './nvml.types.js';

/** Readings of a GPU before anything is read: every value null, no MIG devices. */
export function emptyReadings(): NvmlDeviceReadings {
  return {
    memoryTotalBytes: null,
    memoryReservedBytes: null,
    memoryUsedBytes: null,
    memoryFreeBytes: null,
    temperatureCelsius: null,
    temperatureSlowdownCelsius: null,
    temperatureShutdownCelsius: null,
    powerUsageMilliwatts: null,
    powerLimitMilliwatts: null,
    energyConsumedMillijoules: null,
    utilizationGpuPercent: null,
    utilizationMemoryPercent: null,
    performanceState: null,
    clockEventReasons: null,
    smClockMhz: null,
    memoryClockMhz: null,
    fanSpeedPercent: null,
    eccEnabled: null,
    eccVolatileUncorrected: null,
    eccVolatileCorrected: null,
    eccAggregateUncorrected: null,
    remappedRowsCorrectable: null,
    remappedRowsUncorrectable: null,
    remappedRowsPending: null,
    remappedRowsFailure: null,
    migEnabled: null,
    processes: null,
    migDevices: [],
  };
}

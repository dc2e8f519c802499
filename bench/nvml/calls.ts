/**
 * The NVML functions timed one by one, by the names bench/nvml/nvml-bench.c knows them by.
 * Each is called on GPU 0 with the arguments NvmlLibrary.sampleDevice passes (where the binding
 * has a fallback symbol, the one the library exports is used on both sides).
 */
export const TIMED_CALLS = [
  'nvmlInit_v2+nvmlShutdown',
  'nvmlErrorString',
  'nvmlSystemGetDriverVersion',
  'nvmlDeviceGetCount_v2',
  'nvmlDeviceGetHandleByIndex_v2',
  'nvmlDeviceGetHandleByUUID',
  'nvmlDeviceGetUUID',
  'nvmlDeviceGetMemoryInfo_v2',
  'nvmlDeviceGetTemperature',
  'nvmlDeviceGetTemperatureThreshold',
  'nvmlDeviceGetPowerUsage',
  'nvmlDeviceGetEnforcedPowerLimit',
  'nvmlDeviceGetTotalEnergyConsumption',
  'nvmlDeviceGetMigMode',
  'nvmlDeviceGetUtilizationRates',
  'nvmlDeviceGetPerformanceState',
  'nvmlDeviceGetCurrentClocksEventReasons',
  'nvmlDeviceGetClockInfo',
  'nvmlDeviceGetFanSpeed',
  'nvmlDeviceGetEccMode',
  'nvmlDeviceGetTotalEccErrors',
  'nvmlDeviceGetRemappedRows',
  'nvmlDeviceGetComputeRunningProcesses_v3',
] as const;

export type TimedCall = (typeof TIMED_CALLS)[number];

/**
 * Snapshot series run in rounds (every GPU count once per round) and keep each count's least
 * disturbed round: on a shared machine other work lands on some windows and not others.
 */
export const ROUNDS = 3;

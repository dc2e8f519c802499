import type { NvmlCallError } from './nvml.errors.js';

/** Versions reported by the driver stack. */
export interface NvmlSystemInfo {
  /** `nvmlSystemGetDriverVersion`, e.g. `580.159.04`. */
  driverVersion: string;
  /** `nvmlSystemGetNVMLVersion`, e.g. `13.580.159.04`. */
  nvmlVersion: string;
  /** `nvmlSystemGetCudaDriverVersion_v2` as `major.minor`, e.g. `13.0`; null when unavailable. */
  cudaDriverVersion: string | null;
}

/** A MIG device (GPU instance + compute instance) carved out of a parent GPU. */
export interface NvmlMigDeviceIdentity {
  /** MIG UUID, `MIG-xxxxxxxx-...`. */
  uuid: string;
  /** Position under the parent (`nvmlDeviceGetMigDeviceHandleByIndex`). */
  index: number;
  name: string | null;
  gpuInstanceId: number | null;
  computeInstanceId: number | null;
  /** Memory of the MIG slice in bytes; null when not reported. */
  memoryTotalBytes: number | null;
}

/** Static facts about one GPU, read once at enumeration. */
export interface NvmlDeviceIdentity {
  /** NVML index (`nvmlDeviceGetHandleByIndex_v2`); for display only, GPUs are keyed by UUID. */
  index: number;
  /** `GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`. */
  uuid: string;
  /** Marketing name, e.g. `NVIDIA H200`. */
  name: string;
  /** Board serial number; null where the board has none (consumer parts). */
  serial: string | null;
  /** `domain:bus:device.function` as NVML formats it, e.g. `00000000:00:06.0`. */
  pciBusId: string;
  /** CUDA compute capability, e.g. `{ major: 9, minor: 0 }`. */
  computeCapability: { major: number; minor: number } | null;
  /** Total framebuffer memory in bytes; null when the part does not report it (unified memory). */
  memoryTotalBytes: number | null;
  /** MIG mode currently in effect; null where MIG is not supported. */
  migEnabled: boolean | null;
  /** MIG devices when MIG is enabled (empty otherwise). */
  migDevices: NvmlMigDeviceIdentity[];
  /** Per-field errors, keyed like the fields above (e.g. `serial` → NOT_SUPPORTED). */
  errors: Partial<Record<'serial' | 'computeCapability' | 'memoryTotalBytes' | 'migEnabled' | 'migDevices', NvmlCallError>>;
}

/** A device that could not be enumerated (its handle, UUID or name failed). */
export interface NvmlDeviceEnumerationFailure {
  index: number;
  failure: NvmlCallError;
}

/** A compute process holding a context on a GPU. */
export interface NvmlProcess {
  /** PID as the driver reports it: in a container without host PID namespace this is a host PID. */
  pid: number;
  /** GPU memory used in bytes; null where the driver does not report it. */
  usedMemoryBytes: number | null;
  /** MIG GPU instance the process runs in; null outside MIG. */
  gpuInstanceId: number | null;
  computeInstanceId: number | null;
}

/** Dynamic readings of one MIG device. */
export interface NvmlMigDeviceReadings {
  uuid: string;
  memoryTotalBytes: number | null;
  memoryUsedBytes: number | null;
  memoryFreeBytes: number | null;
}

/**
 * Every reading taken from one GPU in one sample. A value the GPU cannot report is `null`, and
 * `NvmlDeviceSample.errors` holds why under the same key; a value is never 0 for "unknown".
 */
export interface NvmlDeviceReadings {
  /** Bytes (`nvmlDeviceGetMemoryInfo_v2`; v1 where the driver lacks v2). */
  memoryTotalBytes: number | null;
  /** Bytes reserved by the driver and firmware; null with the v1 fallback. */
  memoryReservedBytes: number | null;
  /** Bytes allocated by processes (v2 accounting: reserved excluded, as nvidia-smi shows it). */
  memoryUsedBytes: number | null;
  memoryFreeBytes: number | null;
  /** GPU die temperature, °C (`nvmlDeviceGetTemperature`, NVML_TEMPERATURE_GPU). */
  temperatureCelsius: number | null;
  /** °C at which the GPU slows down (NVML_TEMPERATURE_THRESHOLD_SLOWDOWN). */
  temperatureSlowdownCelsius: number | null;
  /** °C at which the GPU shuts down (NVML_TEMPERATURE_THRESHOLD_SHUTDOWN). */
  temperatureShutdownCelsius: number | null;
  /** Board power draw, mW (`nvmlDeviceGetPowerUsage`). */
  powerUsageMilliwatts: number | null;
  /** Power limit in effect, mW (`nvmlDeviceGetEnforcedPowerLimit`). */
  powerLimitMilliwatts: number | null;
  /** Energy since the driver loaded, mJ (`nvmlDeviceGetTotalEnergyConsumption`). */
  energyConsumedMillijoules: number | null;
  /** % of the last sample period a kernel ran (`nvmlDeviceGetUtilizationRates`). */
  utilizationGpuPercent: number | null;
  /** % of the last sample period device memory was read or written. */
  utilizationMemoryPercent: number | null;
  /** 0 (P0, maximum) to 15 (P15, minimum). */
  performanceState: number | null;
  /** `nvmlClocksEventReason*` bitmask (`nvmlDeviceGetCurrentClocksEventReasons`). */
  clockEventReasons: number | null;
  /** MHz (`nvmlDeviceGetClockInfo`, NVML_CLOCK_SM). */
  smClockMhz: number | null;
  /** MHz (NVML_CLOCK_MEM). */
  memoryClockMhz: number | null;
  /** % of maximum fan speed (`nvmlDeviceGetFanSpeed`); null on fanless datacenter parts. */
  fanSpeedPercent: number | null;
  /** ECC mode in effect (`nvmlDeviceGetEccMode`). */
  eccEnabled: boolean | null;
  /** Uncorrectable (double-bit) ECC errors since the driver loaded. */
  eccVolatileUncorrected: number | null;
  /** Corrected (single-bit) ECC errors since the driver loaded. */
  eccVolatileCorrected: number | null;
  /** Uncorrectable ECC errors over the lifetime of the device. */
  eccAggregateUncorrected: number | null;
  /** Rows remapped for correctable errors (`nvmlDeviceGetRemappedRows`). */
  remappedRowsCorrectable: number | null;
  /** Rows remapped for uncorrectable errors. */
  remappedRowsUncorrectable: number | null;
  /** A remapping waits for a GPU reset. */
  remappedRowsPending: boolean | null;
  /** A remapping failed: the GPU needs service. */
  remappedRowsFailure: boolean | null;
  /** MIG mode in effect (`nvmlDeviceGetMigMode`). */
  migEnabled: boolean | null;
  /** Compute processes (`nvmlDeviceGetComputeRunningProcesses_v3`). */
  processes: NvmlProcess[] | null;
  /** Readings of each MIG device, when MIG is enabled. */
  migDevices: NvmlMigDeviceReadings[];
}

/** Names of the readings, as used for `errors` keys. */
export type NvmlReadingName = keyof NvmlDeviceReadings;

/** One sample of one GPU. */
export interface NvmlDeviceSample {
  uuid: string;
  /** Wall-clock time the sample started, ms since the epoch. */
  sampledAtMs: number;
  /** How long the sample took, ms. */
  durationMs: number;
  readings: NvmlDeviceReadings;
  /** Why a reading is null (NOT_SUPPORTED, NO_PERMISSION, FUNCTION_NOT_FOUND...). */
  errors: Partial<Record<NvmlReadingName, NvmlCallError>>;
  /**
   * A device-wide failure (GPU_IS_LOST, UNKNOWN, OPERATING_SYSTEM...): sampling stopped at the
   * first such error and the readings are all null.
   */
  failure: NvmlCallError | null;
}

/** `nvmlEventType*` bits the service watches. */
export const NvmlEventType = {
  SINGLE_BIT_ECC_ERROR: 0x1,
  DOUBLE_BIT_ECC_ERROR: 0x2,
  XID_CRITICAL_ERROR: 0x8,
} as const;

/** An event from `nvmlEventSetWait_v2`. */
export interface NvmlEvent {
  /** UUID of the GPU the event came from. */
  uuid: string;
  /** `nvmlEventType*` bit. */
  eventType: number;
  /** The XID for XID_CRITICAL_ERROR events (999 = unknown XID); 0 otherwise. */
  xid: number;
  /** MIG GPU instance it is attributed to; null when not attributable. */
  gpuInstanceId: number | null;
  computeInstanceId: number | null;
  /** When it was received, ms since the epoch. */
  receivedAtMs: number;
}

/** What the loaded library says about itself. */
export interface NvmlLibraryInfo {
  /** The name or path it was loaded from. */
  path: string;
  /**
   * Set when the library is the project's GPU simulator (it exports `gpuSimDescribe`): the
   * preset and scenario it runs. Null for NVIDIA's library.
   */
  simulator: { preset: string | null; scenario: string | null } | null;
}

/** Options for one call through the port. */
export interface NvmlCallOptions {
  /** Deadline for the call, ms; past it the call rejects with NvmlTimeoutError. */
  timeoutMs?: number;
}

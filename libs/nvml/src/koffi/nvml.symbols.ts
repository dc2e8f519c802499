// NVML symbols the binding binds, and their C prototypes. No koffi here: the main thread reads
// this table (for call statistics) without loading the FFI.

/**
 * Every NVML function the binding may call, in a fixed order (indexes into the call statistics).
 * Where a list holds several names, the first one the library exports is used.
 */
export const SYMBOLS = {
  init: ['nvmlInit_v2'],
  shutdown: ['nvmlShutdown'],
  errorString: ['nvmlErrorString'],
  driverVersion: ['nvmlSystemGetDriverVersion'],
  nvmlVersion: ['nvmlSystemGetNVMLVersion'],
  cudaVersion: ['nvmlSystemGetCudaDriverVersion_v2', 'nvmlSystemGetCudaDriverVersion'],
  count: ['nvmlDeviceGetCount_v2', 'nvmlDeviceGetCount'],
  handleByIndex: ['nvmlDeviceGetHandleByIndex_v2', 'nvmlDeviceGetHandleByIndex'],
  handleByUuid: ['nvmlDeviceGetHandleByUUID'],
  uuid: ['nvmlDeviceGetUUID'],
  name: ['nvmlDeviceGetName'],
  serial: ['nvmlDeviceGetSerial'],
  pciInfo: ['nvmlDeviceGetPciInfo_v3', 'nvmlDeviceGetPciInfo_v2'],
  computeCapability: ['nvmlDeviceGetCudaComputeCapability'],
  memoryV2: ['nvmlDeviceGetMemoryInfo_v2'],
  memoryV1: ['nvmlDeviceGetMemoryInfo'],
  temperature: ['nvmlDeviceGetTemperature'],
  temperatureThreshold: ['nvmlDeviceGetTemperatureThreshold'],
  powerUsage: ['nvmlDeviceGetPowerUsage'],
  powerLimit: ['nvmlDeviceGetEnforcedPowerLimit'],
  energy: ['nvmlDeviceGetTotalEnergyConsumption'],
  utilization: ['nvmlDeviceGetUtilizationRates'],
  pstate: ['nvmlDeviceGetPerformanceState'],
  clockEvents: ['nvmlDeviceGetCurrentClocksEventReasons', 'nvmlDeviceGetCurrentClocksThrottleReasons'],
  clock: ['nvmlDeviceGetClockInfo'],
  fan: ['nvmlDeviceGetFanSpeed'],
  eccMode: ['nvmlDeviceGetEccMode'],
  eccCount: ['nvmlDeviceGetTotalEccErrors'],
  remappedRows: ['nvmlDeviceGetRemappedRows'],
  migMode: ['nvmlDeviceGetMigMode'],
  maxMigCount: ['nvmlDeviceGetMaxMigDeviceCount'],
  migHandle: ['nvmlDeviceGetMigDeviceHandleByIndex'],
  gpuInstanceId: ['nvmlDeviceGetGpuInstanceId'],
  computeInstanceId: ['nvmlDeviceGetComputeInstanceId'],
  processesV3: ['nvmlDeviceGetComputeRunningProcesses_v3', 'nvmlDeviceGetComputeRunningProcesses_v2'],
  processesV1: ['nvmlDeviceGetComputeRunningProcesses'],
  supportedEvents: ['nvmlDeviceGetSupportedEventTypes'],
  eventSetCreate: ['nvmlEventSetCreate'],
  registerEvents: ['nvmlDeviceRegisterEvents'],
  eventSetWait: ['nvmlEventSetWait_v2'],
  eventSetFree: ['nvmlEventSetFree'],
} as const;

export type Op = keyof typeof SYMBOLS;

/** C prototypes, written with the symbol name replaced by `%`. Out-parameters are `void *`. */
export const PROTOTYPES: Record<Op, string> = {
  init: 'int %()',
  shutdown: 'int %()',
  errorString: 'const char *%(int result)',
  driverVersion: 'int %(void *version, unsigned int length)',
  nvmlVersion: 'int %(void *version, unsigned int length)',
  cudaVersion: 'int %(void *version)',
  count: 'int %(void *count)',
  handleByIndex: 'int %(unsigned int index, void *device)',
  handleByUuid: 'int %(const char *uuid, void *device)',
  uuid: 'int %(void *device, void *uuid, unsigned int length)',
  name: 'int %(void *device, void *name, unsigned int length)',
  serial: 'int %(void *device, void *serial, unsigned int length)',
  pciInfo: 'int %(void *device, void *pci)',
  computeCapability: 'int %(void *device, void *major, void *minor)',
  memoryV2: 'int %(void *device, void *memory)',
  memoryV1: 'int %(void *device, void *memory)',
  temperature: 'int %(void *device, int sensor, void *temp)',
  temperatureThreshold: 'int %(void *device, int threshold, void *temp)',
  powerUsage: 'int %(void *device, void *power)',
  powerLimit: 'int %(void *device, void *limit)',
  energy: 'int %(void *device, void *energy)',
  utilization: 'int %(void *device, void *utilization)',
  pstate: 'int %(void *device, void *pstate)',
  clockEvents: 'int %(void *device, void *reasons)',
  clock: 'int %(void *device, int type, void *clock)',
  fan: 'int %(void *device, void *speed)',
  eccMode: 'int %(void *device, void *current, void *pending)',
  eccCount: 'int %(void *device, int errorType, int counterType, void *count)',
  remappedRows: 'int %(void *device, void *corrRows, void *uncRows, void *isPending, void *failureOccurred)',
  migMode: 'int %(void *device, void *current, void *pending)',
  maxMigCount: 'int %(void *device, void *count)',
  migHandle: 'int %(void *device, unsigned int index, void *migDevice)',
  gpuInstanceId: 'int %(void *device, void *id)',
  computeInstanceId: 'int %(void *device, void *id)',
  processesV3: 'int %(void *device, void *infoCount, void *infos)',
  processesV1: 'int %(void *device, void *infoCount, void *infos)',
  supportedEvents: 'int %(void *device, void *eventTypes)',
  eventSetCreate: 'int %(void *set)',
  registerEvents: 'int %(void *device, unsigned long long eventTypes, void *set)',
  eventSetWait: 'int %(void *set, void *data, unsigned int timeoutms)',
  eventSetFree: 'int %(void *set)',
};

export const OPS = Object.keys(SYMBOLS) as Op[];

/** Names of every NVML function the binding may call (stable order, for call statistics). */
export const NVML_FUNCTIONS: readonly string[] = OPS.flatMap((op) => SYMBOLS[op]);
export const FN_INDEX = new Map(NVML_FUNCTIONS.map((name, i) => [name, i]));


/*
 * The API functions the simulator knows, as X-macro lists.
 *
 * X(name, flags): flags describe how the shared machinery treats a call
 *   SIM_F_DEVICE  takes an nvmlDevice_t as first argument
 *   SIM_F_MIG     also answers for a MIG device handle
 *   SIM_F_NOINIT  may be called before initialisation
 *   SIM_F_INIT    an initialisation entry point (not counted as "after shutdown")
 *
 * The order is free; names are what scenarios, counters and the TS helpers use.
 */
#ifndef GPU_SIM_FUNCTIONS_H
#define GPU_SIM_FUNCTIONS_H

#define SIM_F_DEVICE 0x1u
#define SIM_F_MIG 0x2u
#define SIM_F_NOINIT 0x4u
#define SIM_F_INIT 0x8u

#define SIM_NVML_FUNCTIONS(X)                                                  \
  X(nvmlInit_v2, SIM_F_INIT | SIM_F_NOINIT)                                    \
  X(nvmlInitWithFlags, SIM_F_INIT | SIM_F_NOINIT)                              \
  X(nvmlShutdown, 0)                                                           \
  X(nvmlErrorString, SIM_F_NOINIT | SIM_F_INIT)                                \
  X(nvmlSystemGetDriverVersion, 0)                                             \
  X(nvmlSystemGetNVMLVersion, 0)                                               \
  X(nvmlSystemGetCudaDriverVersion, 0)                                         \
  X(nvmlSystemGetCudaDriverVersion_v2, 0)                                      \
  X(nvmlDeviceGetCount, 0)                                                     \
  X(nvmlDeviceGetCount_v2, 0)                                                  \
  X(nvmlDeviceGetHandleByIndex, 0)                                             \
  X(nvmlDeviceGetHandleByIndex_v2, 0)                                          \
  X(nvmlDeviceGetHandleByUUID, 0)                                              \
  X(nvmlDeviceGetHandleByPciBusId_v2, 0)                                       \
  X(nvmlDeviceGetIndex, SIM_F_DEVICE)                                          \
  X(nvmlDeviceGetUUID, SIM_F_DEVICE | SIM_F_MIG)                               \
  X(nvmlDeviceGetName, SIM_F_DEVICE | SIM_F_MIG)                               \
  X(nvmlDeviceGetSerial, SIM_F_DEVICE)                                         \
  X(nvmlDeviceGetPciInfo_v3, SIM_F_DEVICE)                                     \
  X(nvmlDeviceGetMinorNumber, SIM_F_DEVICE)                                    \
  X(nvmlDeviceGetCudaComputeCapability, SIM_F_DEVICE | SIM_F_MIG)              \
  X(nvmlDeviceGetArchitecture, SIM_F_DEVICE | SIM_F_MIG)                       \
  X(nvmlDeviceGetMemoryInfo, SIM_F_DEVICE | SIM_F_MIG)                         \
  X(nvmlDeviceGetMemoryInfo_v2, SIM_F_DEVICE | SIM_F_MIG)                      \
  X(nvmlDeviceGetTemperature, SIM_F_DEVICE)                                    \
  X(nvmlDeviceGetTemperatureThreshold, SIM_F_DEVICE)                           \
  X(nvmlDeviceGetPowerUsage, SIM_F_DEVICE)                                     \
  X(nvmlDeviceGetEnforcedPowerLimit, SIM_F_DEVICE)                             \
  X(nvmlDeviceGetTotalEnergyConsumption, SIM_F_DEVICE)                         \
  X(nvmlDeviceGetUtilizationRates, SIM_F_DEVICE)                               \
  X(nvmlDeviceGetPerformanceState, SIM_F_DEVICE)                               \
  X(nvmlDeviceGetCurrentClocksEventReasons, SIM_F_DEVICE)                      \
  X(nvmlDeviceGetCurrentClocksThrottleReasons, SIM_F_DEVICE)                   \
  X(nvmlDeviceGetClockInfo, SIM_F_DEVICE)                                      \
  X(nvmlDeviceGetFanSpeed, SIM_F_DEVICE)                                       \
  X(nvmlDeviceGetNumFans, SIM_F_DEVICE)                                        \
  X(nvmlDeviceGetEccMode, SIM_F_DEVICE)                                        \
  X(nvmlDeviceGetTotalEccErrors, SIM_F_DEVICE)                                 \
  X(nvmlDeviceGetRemappedRows, SIM_F_DEVICE)                                   \
  X(nvmlDeviceGetMigMode, SIM_F_DEVICE)                                        \
  X(nvmlDeviceGetMaxMigDeviceCount, SIM_F_DEVICE)                              \
  X(nvmlDeviceGetMigDeviceHandleByIndex, SIM_F_DEVICE)                         \
  X(nvmlDeviceGetDeviceHandleFromMigDeviceHandle, SIM_F_DEVICE | SIM_F_MIG)    \
  X(nvmlDeviceIsMigDeviceHandle, SIM_F_DEVICE | SIM_F_MIG)                     \
  X(nvmlDeviceGetGpuInstanceId, SIM_F_DEVICE | SIM_F_MIG)                      \
  X(nvmlDeviceGetComputeInstanceId, SIM_F_DEVICE | SIM_F_MIG)                  \
  X(nvmlDeviceGetComputeRunningProcesses, SIM_F_DEVICE | SIM_F_MIG)            \
  X(nvmlDeviceGetComputeRunningProcesses_v2, SIM_F_DEVICE | SIM_F_MIG)         \
  X(nvmlDeviceGetComputeRunningProcesses_v3, SIM_F_DEVICE | SIM_F_MIG)         \
  X(nvmlDeviceGetSupportedEventTypes, SIM_F_DEVICE)                            \
  X(nvmlEventSetCreate, 0)                                                     \
  X(nvmlDeviceRegisterEvents, SIM_F_DEVICE)                                    \
  X(nvmlEventSetWait_v2, 0)                                                    \
  X(nvmlEventSetFree, 0)

#define SIM_CUDA_FUNCTIONS(X)                                                  \
  X(cuInit, SIM_F_INIT | SIM_F_NOINIT)                                         \
  X(cuDriverGetVersion, SIM_F_NOINIT)                                          \
  X(cuDeviceGetCount, 0)                                                       \
  X(cuDeviceGet, 0)                                                            \
  X(cuDeviceGetName, 0)                                                        \
  X(cuDeviceGetUuid, 0)                                                        \
  X(cuDeviceGetUuid_v2, 0)                                                     \
  X(cuDeviceGetPCIBusId, 0)                                                    \
  X(cuDeviceTotalMem_v2, 0)                                                    \
  X(cuDeviceGetAttribute, 0)                                                   \
  X(cuDevicePrimaryCtxRetain, 0)                                               \
  X(cuDevicePrimaryCtxRelease_v2, 0)                                           \
  X(cuCtxSetCurrent, 0)                                                        \
  X(cuCtxGetCurrent, 0)                                                        \
  X(cuCtxPushCurrent_v2, 0)                                                    \
  X(cuCtxPopCurrent_v2, 0)                                                     \
  X(cuCtxSynchronize, 0)                                                       \
  X(cuMemAlloc_v2, 0)                                                          \
  X(cuMemFree_v2, 0)                                                           \
  X(cuMemsetD8_v2, 0)                                                          \
  X(cuMemcpyDtoH_v2, 0)                                                        \
  X(cuMemcpyHtoD_v2, 0)                                                        \
  X(cuGetErrorName, SIM_F_NOINIT)                                              \
  X(cuGetErrorString, SIM_F_NOINIT)

enum sim_fn {
#define SIM_FN_ENUM(name, flags) SIM_FN_##name,
  SIM_NVML_FUNCTIONS(SIM_FN_ENUM) SIM_FN_NVML_END,
  SIM_FN_CUDA_BEGIN = SIM_FN_NVML_END,
  SIM_FN_CUDA_FIRST_ = SIM_FN_CUDA_BEGIN - 1,
  SIM_CUDA_FUNCTIONS(SIM_FN_ENUM) SIM_FN_COUNT
#undef SIM_FN_ENUM
};

#endif

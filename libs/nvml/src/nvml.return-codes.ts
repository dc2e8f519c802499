// nvmlReturn_t values from nvml.h of CUDA 11.8 (codes 0-25, 999) and of CUDA 12.9/13.0 (codes
// 26-30); texts as nvmlErrorString of NVIDIA's libnvidia-ml 535.261.03 (codes 0-27, 999) and
// 580.159.04 (codes 28-30) returns them. Used when the library is not loaded; otherwise texts
// come from nvmlErrorString itself.

/** Symbolic names of `nvmlReturn_t` values, by code. */
export const NVML_RETURN_NAMES: Readonly<Record<number, string>> = {
  0: 'NVML_SUCCESS',
  1: 'NVML_ERROR_UNINITIALIZED',
  2: 'NVML_ERROR_INVALID_ARGUMENT',
  3: 'NVML_ERROR_NOT_SUPPORTED',
  4: 'NVML_ERROR_NO_PERMISSION',
  5: 'NVML_ERROR_ALREADY_INITIALIZED',
  6: 'NVML_ERROR_NOT_FOUND',
  7: 'NVML_ERROR_INSUFFICIENT_SIZE',
  8: 'NVML_ERROR_INSUFFICIENT_POWER',
  9: 'NVML_ERROR_DRIVER_NOT_LOADED',
  10: 'NVML_ERROR_TIMEOUT',
  11: 'NVML_ERROR_IRQ_ISSUE',
  12: 'NVML_ERROR_LIBRARY_NOT_FOUND',
  13: 'NVML_ERROR_FUNCTION_NOT_FOUND',
  14: 'NVML_ERROR_CORRUPTED_INFOROM',
  15: 'NVML_ERROR_GPU_IS_LOST',
  16: 'NVML_ERROR_RESET_REQUIRED',
  17: 'NVML_ERROR_OPERATING_SYSTEM',
  18: 'NVML_ERROR_LIB_RM_VERSION_MISMATCH',
  19: 'NVML_ERROR_IN_USE',
  20: 'NVML_ERROR_MEMORY',
  21: 'NVML_ERROR_NO_DATA',
  22: 'NVML_ERROR_VGPU_ECC_NOT_SUPPORTED',
  23: 'NVML_ERROR_INSUFFICIENT_RESOURCES',
  24: 'NVML_ERROR_FREQ_NOT_SUPPORTED',
  25: 'NVML_ERROR_ARGUMENT_VERSION_MISMATCH',
  26: 'NVML_ERROR_DEPRECATED',
  27: 'NVML_ERROR_NOT_READY',
  28: 'NVML_ERROR_GPU_NOT_FOUND',
  29: 'NVML_ERROR_INVALID_STATE',
  30: 'NVML_ERROR_RESET_TYPE_NOT_SUPPORTED',
  999: 'NVML_ERROR_UNKNOWN',
};

/** The texts `nvmlErrorString` returns, by code. */
export const NVML_RETURN_TEXTS: Readonly<Record<number, string>> = {
  0: 'Success',
  1: 'Uninitialized',
  2: 'Invalid Argument',
  3: 'Not Supported',
  4: 'Insufficient Permissions',
  5: 'Already Initialized',
  6: 'Not Found',
  7: 'Insufficient Size',
  8: 'Insufficient External Power',
  9: 'Driver Not Loaded',
  10: 'Timeout',
  11: 'Interrupt Request Issue',
  12: 'NVML Shared Library Not Found',
  13: 'Function Not Found',
  14: 'Corrupted infoROM',
  15: 'GPU is lost',
  16: 'GPU requires reset',
  17: 'GPU access blocked by the operating system',
  18: 'Driver/library version mismatch',
  19: 'In use by another client',
  20: 'Insufficient Memory',
  21: 'No data',
  22: 'vGPU ECC not supported',
  23: 'Insufficient Resources',
  24: 'Invalid Frequency',
  25: 'Argument version mismatch',
  26: 'Requested functionality has been deprecated',
  27: 'System is not in ready state',
  28: 'No supported GPUs were found',
  29: 'Resource not in correct state to perform requested operation',
  30: 'Reset type is not supported for given device',
  999: 'Unknown Error',
};

/** Numeric `nvmlReturn_t` codes the service reasons about. */
export const NvmlReturn = {
  SUCCESS: 0,
  UNINITIALIZED: 1,
  INVALID_ARGUMENT: 2,
  NOT_SUPPORTED: 3,
  NO_PERMISSION: 4,
  NOT_FOUND: 6,
  INSUFFICIENT_SIZE: 7,
  DRIVER_NOT_LOADED: 9,
  TIMEOUT: 10,
  IRQ_ISSUE: 11,
  LIBRARY_NOT_FOUND: 12,
  FUNCTION_NOT_FOUND: 13,
  GPU_IS_LOST: 15,
  RESET_REQUIRED: 16,
  OPERATING_SYSTEM: 17,
  LIB_RM_VERSION_MISMATCH: 18,
  NO_DATA: 21,
  ARGUMENT_VERSION_MISMATCH: 25,
  GPU_NOT_FOUND: 28,
  UNKNOWN: 999,
} as const;

/** Symbolic name of an `nvmlReturn_t` code, e.g. 15 → `NVML_ERROR_GPU_IS_LOST`. */
export function nvmlReturnName(code: number): string {
  return NVML_RETURN_NAMES[code] ?? `NVML_ERROR_${code}`;
}

/** Built-in text of an `nvmlReturn_t` code (used when `nvmlErrorString` cannot be called). */
export function nvmlReturnText(code: number): string {
  return NVML_RETURN_TEXTS[code] ?? `Unknown NVML return code ${code}`;
}

/**
 * Codes that mean the device (or the whole driver) cannot answer at all, as opposed to one
 * reading being unavailable: a sample stops at the first of these and reports it as `failure`.
 */
export const NVML_DEVICE_FAILURES: ReadonlySet<number> = new Set([
  NvmlReturn.UNINITIALIZED,
  NvmlReturn.INVALID_ARGUMENT,
  NvmlReturn.DRIVER_NOT_LOADED,
  NvmlReturn.IRQ_ISSUE,
  NvmlReturn.LIBRARY_NOT_FOUND,
  NvmlReturn.GPU_IS_LOST,
  NvmlReturn.RESET_REQUIRED,
  NvmlReturn.OPERATING_SYSTEM,
  NvmlReturn.LIB_RM_VERSION_MISMATCH,
  NvmlReturn.GPU_NOT_FOUND,
  NvmlReturn.UNKNOWN,
]);

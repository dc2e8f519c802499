/**
 * Process exit codes. Stable: operators and orchestrators match on them (README, "Exit codes").
 */
export const ExitCode = {
  /** Stopped on SIGTERM/SIGINT after draining. */
  OK: 0,
  /** An error nothing else covers (a bug). */
  UNEXPECTED: 1,
  /** A configuration variable is invalid. */
  CONFIG_INVALID: 3,
  /** libnvidia-ml.so.1 cannot be loaded (no NVIDIA runtime, NVML_LIBRARY_PATH wrong). */
  NVML_LIBRARY_NOT_FOUND: 10,
  /** nvmlInit_v2 failed (driver not loaded, driver/library version mismatch...). */
  NVML_INIT_FAILED: 11,
  /** No GPU visible, or a device selector matches nothing. */
  NO_GPU: 12,
  /** A GPU requirement is not met (count, memory, compute capability, GPU unhealthy). */
  REQUIREMENT_NOT_MET: 13,
  /** The CUDA driver smoke test failed (or libcuda.so.1 is missing). */
  CUDA_FAILED: 14,
  /** A start-up driver call did not return within GPU_STARTUP_TIMEOUT_MS. */
  STARTUP_TIMEOUT: 15,
  /** A restart-class NVML error outlasted GPU_RESTART_AFTER_S (GPU_UNRECOVERABLE_ACTION=exit). */
  NVML_UNRECOVERABLE: 20,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

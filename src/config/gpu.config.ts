import { z } from 'zod';
import { envBool, envEnum, envInt, envIntList, envNumber, envOptionalInt, envOptionalString, parseEnv } from './env.js';

/** XIDs caused by applications, not by the GPU (NVIDIA k8s-device-plugin's skip list). */
export const DEFAULT_IGNORED_XIDS = [13, 31, 43, 45, 68, 109];

const computeCapability = z.preprocess(
  (v) => (v === '' ? undefined : v),
  z
    .string()
    .regex(/^\d+\.\d+$/, 'must be a compute capability such as 8.0')
    .transform((v) => {
      const [major, minor] = v.split('.').map(Number) as [number, number];
      return { major, minor };
    })
    .optional(),
);

/** The environment variables this feature reads, with their rules. */
export const gpuEnvSchema = z.object({
  GPU_MIN_COUNT: envInt(0, 1024, 1),
  GPU_MIN_MEMORY_GIB: envNumber(0, 1_000_000, 12),
  GPU_MIN_COMPUTE_CAPABILITY: computeCapability,
  GPU_REQUIRE_MEMORY_INFO: envBool(false),
  GPU_CUDA_SMOKE_TEST: envBool(true),
  GPU_STARTUP_TIMEOUT_MS: envInt(100, 600_000, 20_000),
  NVML_LIBRARY_PATH: envOptionalString(),
  CUDA_LIBRARY_PATH: envOptionalString(),
  NVML_CALL_TIMEOUT_MS: envInt(10, 60_000, 500),
  GPU_POLL_INTERVAL_MS: envInt(100, 3_600_000, 1_000),
  GPU_SNAPSHOT_MAX_AGE_MS: envInt(100, 3_600_000, 3_000),
  GPU_MIN_HEALTHY_COUNT: envOptionalInt(0, 1024),
  GPU_MIN_FREE_MEMORY_GIB: envNumber(0, 1_000_000, 0),
  GPU_RECOVERY_SAMPLES: envInt(1, 1000, 3),
  GPU_XID_IGNORED: envIntList(DEFAULT_IGNORED_XIDS),
  GPU_XID_CRITICAL: envIntList([]),
  GPU_RESTART_AFTER_S: envInt(1, 86_400, 60),
  GPU_UNRECOVERABLE_ACTION: envEnum(['fail-liveness', 'exit'], 'fail-liveness'),
  GPU_REINIT_BACKOFF_MAX_S: envInt(1, 3600, 60),
  GPU_LOG_REMINDER_S: envInt(0, 86_400, 300),
  CUDA_VISIBLE_DEVICES: z.string().optional(),
  NVIDIA_VISIBLE_DEVICES: z.string().optional(),
  CUDA_DEVICE_ORDER: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.enum(['FASTEST_FIRST', 'PCI_BUS_ID'], { error: 'must be FASTEST_FIRST or PCI_BUS_ID' }).optional(),
  ),
});

/** GPU requirements, driver access and health policy settings. */
export interface GpuConfig {
  /** Start-up requirement: at least this many selected GPUs. */
  minCount: number;
  /** Start-up requirement: total memory of each selected GPU, bytes. */
  minMemoryBytes: number;
  minComputeCapability: { major: number; minor: number } | null;
  /** Fail start-up when a GPU cannot report its memory (unified-memory parts report none). */
  requireMemoryInfo: boolean;
  /** Run the CUDA allocate/memset/copy-back test on each selected GPU at start-up. */
  cudaSmokeTest: boolean;
  /** Deadline of each start-up driver call, ms. */
  startupTimeoutMs: number;
  nvmlLibraryPath: string | null;
  cudaLibraryPath: string | null;
  /** Deadline of one NVML call (one GPU's sample), ms. */
  callTimeoutMs: number;
  /** Background sampling period, ms. */
  pollIntervalMs: number;
  /** A probe never answers from a snapshot older than this; it samples anew first, ms. */
  snapshotMaxAgeMs: number;
  /** Readiness needs at least this many healthy GPUs; null means every selected GPU. */
  minHealthyCount: number | null;
  /** Readiness fails on a GPU with less free memory than this, bytes (0 = off). */
  minFreeMemoryBytes: number;
  /** Good samples in a row that clear a transient finding (thermal, power). */
  recoverySamples: number;
  /** XIDs that never affect health. */
  ignoredXids: number[];
  /** When not empty, only these XIDs are critical; other XIDs are recorded only. */
  criticalXids: number[];
  /** A restart-class NVML error (999, 17, 18, 9) lasting this long fails liveness / exits, s. */
  restartAfterS: number;
  /** `fail-liveness` (Kubernetes restarts the pod) or `exit` (compose restart policies act). */
  unrecoverableAction: 'fail-liveness' | 'exit';
  /** Longest wait between NVML re-initialisation attempts, s. */
  reinitBackoffMaxS: number;
  /** While a GPU stays down, repeat its log line this often, s (0 = never). */
  logReminderS: number;
  /** Raw device selectors, as set in the environment. */
  cudaVisibleDevices: string | null;
  nvidiaVisibleDevices: string | null;
  cudaDeviceOrder: 'FASTEST_FIRST' | 'PCI_BUS_ID' | null;
}

/** Reads and validates the GPU settings. @throws ConfigValidationError */
export function loadGpuConfig(env: NodeJS.ProcessEnv): GpuConfig {
  const e = parseEnv(gpuEnvSchema, env);
  return {
    minCount: e.GPU_MIN_COUNT,
    minMemoryBytes: Math.round(e.GPU_MIN_MEMORY_GIB * 1024 ** 3),
    minComputeCapability: e.GPU_MIN_COMPUTE_CAPABILITY ?? null,
    requireMemoryInfo: e.GPU_REQUIRE_MEMORY_INFO,
    cudaSmokeTest: e.GPU_CUDA_SMOKE_TEST,
    startupTimeoutMs: e.GPU_STARTUP_TIMEOUT_MS,
    nvmlLibraryPath: e.NVML_LIBRARY_PATH ?? null,
    cudaLibraryPath: e.CUDA_LIBRARY_PATH ?? null,
    callTimeoutMs: e.NVML_CALL_TIMEOUT_MS,
    pollIntervalMs: e.GPU_POLL_INTERVAL_MS,
    snapshotMaxAgeMs: e.GPU_SNAPSHOT_MAX_AGE_MS,
    minHealthyCount: e.GPU_MIN_HEALTHY_COUNT ?? null,
    minFreeMemoryBytes: Math.round(e.GPU_MIN_FREE_MEMORY_GIB * 1024 ** 3),
    recoverySamples: e.GPU_RECOVERY_SAMPLES,
    ignoredXids: e.GPU_XID_IGNORED,
    criticalXids: e.GPU_XID_CRITICAL,
    restartAfterS: e.GPU_RESTART_AFTER_S,
    unrecoverableAction: e.GPU_UNRECOVERABLE_ACTION,
    reinitBackoffMaxS: e.GPU_REINIT_BACKOFF_MAX_S,
    logReminderS: e.GPU_LOG_REMINDER_S,
    cudaVisibleDevices: e.CUDA_VISIBLE_DEVICES ?? null,
    nvidiaVisibleDevices: e.NVIDIA_VISIBLE_DEVICES ?? null,
    cudaDeviceOrder: e.CUDA_DEVICE_ORDER ?? null,
  };
}

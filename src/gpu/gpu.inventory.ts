import type { CudaSmokeTestResult } from '@app/cuda';
import type { NvmlDeviceIdentity, NvmlLibraryInfo, NvmlSystemInfo } from '@app/nvml';

/** A GPU the service uses, as selected at start-up. */
export interface InventoryGpu {
  identity: NvmlDeviceIdentity;
  /** CUDA ordinal of the device (of the MIG device when one was selected); null when CUDA was not asked. */
  cudaOrdinal: number | null;
  /** MIG devices selected through CUDA_VISIBLE_DEVICES; null when the whole GPU is used. */
  selectedMigUuids: string[] | null;
  /** The start-up CUDA smoke test; null when disabled. */
  smokeTest: CudaSmokeTestResult | null;
}

/** Durations of the start-up check, ms. */
export interface StartupTimings {
  nvmlInitMs: number;
  enumerateMs: number;
  /** `cuInit` and CUDA enumeration; they run alongside NVML's initialisation. */
  cudaInitMs: number | null;
  /** Wall time of the smoke tests (they run in parallel, one thread per GPU). */
  smokeTestMs: number | null;
  totalMs: number;
}

/** What the start-up check found and chose. */
export interface GpuInventory {
  library: NvmlLibraryInfo;
  system: NvmlSystemInfo;
  /** `cuDriverGetVersion`; null when CUDA was not asked. */
  cudaDriverVersion: string | null;
  gpus: InventoryGpu[];
  /** GPUs NVML lists that were not selected, by UUID. */
  notSelected: string[];
  checkedAt: string;
  timings: StartupTimings;
}

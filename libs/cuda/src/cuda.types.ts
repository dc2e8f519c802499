/** A device as the CUDA driver enumerates it (after CUDA_VISIBLE_DEVICES and CUDA_DEVICE_ORDER). */
export interface CudaDevice {
  /** CUDA ordinal (`cuDeviceGet`). */
  ordinal: number;
  /**
   * `GPU-...` (or `MIG-...` for a MIG device) from `cuDeviceGetUuid_v2`, formatted as NVML
   * formats UUIDs, so it keys the same device in NVML.
   */
  uuid: string;
  /** `cuDeviceGetName`. */
  name: string;
  /** `cuDeviceGetPCIBusId`, e.g. `0000:00:06.0`. */
  pciBusId: string | null;
  /** `cuDeviceTotalMem_v2`, bytes. */
  totalMemoryBytes: number | null;
  computeCapability: { major: number; minor: number } | null;
}

/** What `cuInit` and enumeration found. */
export interface CudaInventory {
  /** `cuDriverGetVersion` as `major.minor`, e.g. `13.0`. */
  driverVersion: string;
  devices: CudaDevice[];
}

/** Timings of one device's smoke test, ms. */
export interface CudaSmokeTestResult {
  ordinal: number;
  uuid: string;
  /** Bytes allocated, written and read back. */
  bytes: number;
  /** `cuDevicePrimaryCtxRetain` + `cuCtxPushCurrent_v2`. */
  contextMs: number;
  /** `cuMemAlloc_v2`, `cuMemsetD8_v2`, `cuMemcpyDtoH_v2`, verify, `cuMemFree_v2`. */
  memoryMs: number;
  /** The whole test, release included. */
  totalMs: number;
}

/** What the loaded `libcuda.so.1` is. */
export interface CudaLibraryInfo {
  path: string;
  /** Set when it is the project's simulator (exports `gpuSimDescribe`). */
  simulated: boolean;
}

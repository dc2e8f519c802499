import type { CudaInventory, CudaLibraryInfo, CudaSmokeTestResult } from './cuda.types.js';

/** Options for one call through the port. */
export interface CudaCallOptions {
  /** Deadline, ms; past it the call rejects with CudaTimeoutError. */
  timeoutMs?: number;
}

/**
 * The typed port to the CUDA driver API, as plain data: device enumeration (which honours
 * `CUDA_VISIBLE_DEVICES` and `CUDA_DEVICE_ORDER`, as every CUDA program sees them) and the
 * start-up smoke test. Implementations: `ThreadedCudaClient` (koffi, on worker threads) and
 * `FakeCudaClient` (`@app/cuda/testing`).
 */
export abstract class CudaClient {
  /**
   * Loads `libcuda.so.1` on first use, calls `cuInit(0)` and lists the visible devices.
   * @throws CudaLibraryLoadError, CudaError (e.g. CUDA_ERROR_NO_DEVICE), CudaTimeoutError
   */
  abstract inventory(options?: CudaCallOptions): Promise<CudaInventory>;

  /**
   * Retains the primary context of CUDA device `ordinal`, allocates `bytes`, fills them with a
   * pattern, copies them back, verifies every byte, frees and releases.
   * @throws CudaError (the failing call), CudaVerificationError, CudaTimeoutError
   */
  abstract smokeTest(ordinal: number, bytes: number, options?: CudaCallOptions): Promise<CudaSmokeTestResult>;

  /** The loaded library, once a call has loaded it. */
  abstract libraryInfo(): CudaLibraryInfo | null;

  /** Ends the client's threads. */
  abstract close(): Promise<void>;
}

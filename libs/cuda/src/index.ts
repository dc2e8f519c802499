export { type CudaCallOptions, CudaClient } from './cuda.client.js';
export {
  type CudaCallError,
  CudaError,
  CudaLibraryLoadError,
  CudaTimeoutError,
  CudaVerificationError,
} from './cuda.errors.js';
export { CudaModule, type CudaModuleAsyncOptions } from './cuda.module.js';
export { cudaResultName, cudaResultText } from './cuda.results.js';
export type { CudaDevice, CudaInventory, CudaLibraryInfo, CudaSmokeTestResult } from './cuda.types.js';
export { ThreadedCudaClient, type ThreadedCudaClientOptions } from './koffi/threaded-cuda.client.js';

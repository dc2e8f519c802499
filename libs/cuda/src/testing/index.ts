export {
  CUDA_FUNCTIONS,
  cudaDevices,
  type FakeCudaClientOptions,
  type FakeCudaCounters,
  type FakeCudaDevice,
  FakeCudaClient,
} from './fake-cuda.client.js';

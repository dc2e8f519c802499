export { ThreadedNvmlClient, type ThreadedNvmlClientOptions } from './koffi/threaded-nvml.client.js';
export { NVML_LATENCY_BUCKETS_MS, type NvmlFunctionStats } from './nvml.call-stats.js';
export { type NvmlEventListener, type NvmlEventWatch, NvmlClient } from './nvml.client.js';
export {
  type LibraryLoadAttempt,
  type NvmlCallError,
  NvmlError,
  NvmlLibraryLoadError,
  NvmlShutdownError,
  NvmlTimeoutError,
} from './nvml.errors.js';
export { NvmlModule, type NvmlModuleAsyncOptions } from './nvml.module.js';
export { NvmlReturn, nvmlReturnName, nvmlReturnText } from './nvml.return-codes.js';
export * from './nvml.types.js';

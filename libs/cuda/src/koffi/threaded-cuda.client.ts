import { type SerializedError, WorkerPool, workerScript } from '@app/worker-pool';
import { type CudaCallOptions, CudaClient } from '../cuda.client.js';
import {
  type CudaCallError,
  CudaError,
  CudaLibraryLoadError,
  CudaTimeoutError,
  CudaVerificationError,
} from '../cuda.errors.js';
import type { CudaInventory, CudaLibraryInfo, CudaSmokeTestResult } from '../cuda.types.js';

/** Settings of a ThreadedCudaClient. */
export interface ThreadedCudaClientOptions {
  /** `CUDA_LIBRARY_PATH`; null lets the dynamic loader find `libcuda.so.1`. */
  libraryPath: string | null;
  /** Deadline of a call when the caller gives none, ms. */
  defaultTimeoutMs: number;
  /** Devices tested at once. */
  threads?: number;
}

/** CudaClient over the koffi binding; every call runs on a worker thread with a deadline. */
export class ThreadedCudaClient extends CudaClient {
  private readonly pool: WorkerPool;
  private info: CudaLibraryInfo | null = null;

  constructor(private readonly options: ThreadedCudaClientOptions) {
    super();
    this.pool = new WorkerPool({
      name: 'cuda',
      script: workerScript(import.meta.url, 'cuda.worker'),
      config: { libraryPath: options.libraryPath },
      size: options.threads ?? 8,
      decodeError,
      timeoutError: (task, timeoutMs) => new CudaTimeoutError(task.key, timeoutMs),
    });
  }

  override async inventory(options?: CudaCallOptions): Promise<CudaInventory> {
    const { inventory, info } = await this.pool.run<{ inventory: CudaInventory; info: CudaLibraryInfo }>('inventory', [], {
      key: 'cuInit',
      timeoutMs: options?.timeoutMs ?? this.options.defaultTimeoutMs,
    });
    this.info = info;
    return inventory;
  }

  override async smokeTest(ordinal: number, bytes: number, options?: CudaCallOptions): Promise<CudaSmokeTestResult> {
    const { result, info } = await this.pool.run<{ result: CudaSmokeTestResult; info: CudaLibraryInfo }>(
      'smokeTest',
      [ordinal, bytes],
      { key: `smoke test of CUDA device ${ordinal}`, timeoutMs: options?.timeoutMs ?? this.options.defaultTimeoutMs },
    );
    this.info = info;
    return result;
  }

  override libraryInfo(): CudaLibraryInfo | null {
    return this.info;
  }

  override close(): Promise<void> {
    return this.pool.close();
  }
}

function decodeError(error: SerializedError): Error {
  const data = (error.data ?? {}) as Record<string, unknown>;
  switch (error.name) {
    case 'CudaError':
      return CudaError.from(data as unknown as CudaCallError);
    case 'CudaLibraryLoadError':
      return new CudaLibraryLoadError(data.attempts as CudaLibraryLoadError['attempts']);
    case 'CudaVerificationError':
      return new CudaVerificationError(
        data.ordinal as number,
        data.firstBadOffset as number,
        data.expected as number,
        data.actual as number,
      );
    default:
      return Object.assign(new Error(error.message), { name: error.name });
  }
}

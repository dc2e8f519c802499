import type { LibraryLoadAttempt } from '@app/nvml';
import { cudaResultName, cudaResultText } from './cuda.results.js';

/** Plain-data form of a failed CUDA driver call. */
export interface CudaCallError {
  /** `CUresult` value. */
  code: number;
  /** Symbolic name, e.g. `CUDA_ERROR_NO_DEVICE`. */
  name: string;
  /** The driver function, e.g. `cuInit`. */
  fn: string;
  /** `cuGetErrorString` text. */
  message: string;
}

/** A CUDA driver API function returned something other than `CUDA_SUCCESS`. */
export class CudaError extends Error {
  override readonly name = 'CudaError';
  readonly code: number;
  readonly symbol: string;
  readonly fn: string;
  readonly text: string;

  constructor(code: number, fn: string, text: string = cudaResultText(code), symbol: string = cudaResultName(code)) {
    super(`${fn} failed: ${symbol} (${code}): ${text}`);
    this.code = code;
    this.symbol = symbol;
    this.fn = fn;
    this.text = text;
  }

  static from(info: CudaCallError): CudaError {
    return new CudaError(info.code, info.fn, info.message, info.name);
  }

  toJSON(): CudaCallError {
    return { code: this.code, name: this.symbol, fn: this.fn, message: this.text };
  }
}

/** `libcuda.so.1` could not be loaded; lists every path tried with the loader's text. */
export class CudaLibraryLoadError extends Error {
  override readonly name = 'CudaLibraryLoadError';
  readonly attempts: readonly LibraryLoadAttempt[];

  constructor(attempts: readonly LibraryLoadAttempt[]) {
    super(`libcuda.so.1 could not be loaded; tried ${attempts.map((a) => `${a.path} (${a.error})`).join('; ')}`);
    this.attempts = attempts;
  }
}

/** The bytes copied back from the device differ from what was written. */
export class CudaVerificationError extends Error {
  override readonly name = 'CudaVerificationError';
  readonly symbol = 'CUDA_SMOKE_TEST_MISMATCH';

  constructor(
    readonly ordinal: number,
    readonly firstBadOffset: number,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(
      `device ${ordinal}: byte ${firstBadOffset} read back as 0x${actual.toString(16)}, expected 0x${expected.toString(16)}`,
    );
  }

  toJSON(): Record<string, unknown> {
    return { ordinal: this.ordinal, firstBadOffset: this.firstBadOffset, expected: this.expected, actual: this.actual };
  }
}

/** A CUDA call did not finish within its deadline (it may still be blocked in the driver). */
export class CudaTimeoutError extends Error {
  override readonly name = 'CudaTimeoutError';
  readonly symbol = 'CUDA_CALL_TIMEOUT';

  constructor(
    readonly operation: string,
    readonly timeoutMs: number,
  ) {
    super(`${operation} did not finish within ${timeoutMs} ms`);
  }
}

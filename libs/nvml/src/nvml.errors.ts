import type { LibraryLoadAttempt } from '@app/ffi';
import { nvmlReturnName, nvmlReturnText } from './nvml.return-codes.js';

/**
 * Plain-data form of a failed NVML call, safe to log, serialise and send between threads.
 * `code` is the `nvmlReturn_t`, `name` its symbol (`NVML_ERROR_GPU_IS_LOST`), `fn` the NVML
 * function that returned it (`nvmlDeviceGetTemperature`), `message` the `nvmlErrorString` text.
 */
export interface NvmlCallError {
  code: number;
  name: string;
  fn: string;
  message: string;
}

/** An NVML function returned something other than `NVML_SUCCESS`. */
export class NvmlError extends Error {
  override readonly name = 'NvmlError';
  /** `nvmlReturn_t` value. */
  readonly code: number;
  /** Symbolic name of `code`, e.g. `NVML_ERROR_GPU_IS_LOST`. */
  readonly symbol: string;
  /** The NVML function that failed. */
  readonly fn: string;
  /** Text from `nvmlErrorString` (or the built-in table when the library is not loaded). */
  readonly text: string;

  constructor(code: number, fn: string, text: string = nvmlReturnText(code)) {
    super(`${fn} failed: ${nvmlReturnName(code)} (${code}): ${text}`);
    this.code = code;
    this.symbol = nvmlReturnName(code);
    this.fn = fn;
    this.text = text;
  }

  /** Rebuilds an error from its plain-data form. */
  static from(info: NvmlCallError): NvmlError {
    return new NvmlError(info.code, info.fn, info.message);
  }

  /** Plain-data form of this error. */
  toJSON(): NvmlCallError {
    return { code: this.code, name: this.symbol, fn: this.fn, message: this.text };
  }
}

export type { LibraryLoadAttempt };

/**
 * The shared library could not be loaded. `attempts` lists every name or path tried with the
 * dynamic loader's own text (`dlerror`).
 */
export class NvmlLibraryLoadError extends Error {
  override readonly name = 'NvmlLibraryLoadError';
  /** Reported with the NVML convention for a missing library. */
  readonly code = 12;
  readonly symbol = 'NVML_ERROR_LIBRARY_NOT_FOUND';
  readonly attempts: readonly LibraryLoadAttempt[];

  constructor(attempts: readonly LibraryLoadAttempt[]) {
    super(
      `libnvidia-ml.so.1 could not be loaded; tried ${attempts
        .map((a) => `${a.path} (${a.error})`)
        .join('; ')}`,
    );
    this.attempts = attempts;
  }
}

/**
 * An NVML call did not finish within its deadline. The call may still be running on its
 * worker thread (`stillRunning`); `fn` is the NVML function it was blocked in, when known.
 */
export class NvmlTimeoutError extends Error {
  override readonly name = 'NvmlTimeoutError';
  readonly symbol = 'NVML_CALL_TIMEOUT';
  readonly operation: string;
  readonly fn: string | null;
  readonly timeoutMs: number;
  readonly runningForMs: number;

  constructor(operation: string, fn: string | null, timeoutMs: number, runningForMs: number) {
    super(
      `${operation} did not finish within ${timeoutMs} ms` +
        (fn ? ` (blocked in ${fn} for ${Math.round(runningForMs)} ms)` : ''),
    );
    this.operation = operation;
    this.fn = fn;
    this.timeoutMs = timeoutMs;
    this.runningForMs = runningForMs;
  }
}

/** An NVML call was made after `shutdown()` released the last reference. */
export class NvmlShutdownError extends NvmlError {
  constructor(fn: string) {
    super(1, fn, 'NVML has been shut down by this process');
  }
}

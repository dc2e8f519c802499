import { describe, expect, it } from 'vitest';
import { CudaError, CudaLibraryLoadError, CudaTimeoutError, CudaVerificationError } from './cuda.errors.js';
import { CUDA_RESULTS, cudaResultName, cudaResultText } from './cuda.results.js';

describe('CUresult table', () => {
  it('names every code CUDA_* and texts it', () => {
    for (const [code, [name, text]] of Object.entries(CUDA_RESULTS)) {
      expect(name, `code ${code}`).toMatch(code === '0' ? /^CUDA_SUCCESS$/ : /^CUDA_ERROR_[A-Z0-9_]+$/);
      expect(text.length, `code ${code}`).toBeGreaterThan(0);
    }
    expect(new Set(Object.values(CUDA_RESULTS).map(([name]) => name)).size).toBe(Object.keys(CUDA_RESULTS).length);
  });

  it('knows the codes the smoke test meets and falls back to the number', () => {
    expect([cudaResultName(100), cudaResultText(100)]).toEqual(['CUDA_ERROR_NO_DEVICE', 'no CUDA-capable device is detected']);
    expect([cudaResultName(2), cudaResultText(2)]).toEqual(['CUDA_ERROR_OUT_OF_MEMORY', 'out of memory']);
    expect([cudaResultName(34), cudaResultName(999)]).toEqual(['CUDA_ERROR_STUB_LIBRARY', 'CUDA_ERROR_UNKNOWN']);
    expect([cudaResultName(4242), cudaResultText(4242)]).toEqual(['CUDA_ERROR_4242', 'unknown CUDA result 4242']);
  });
});

describe('CUDA errors', () => {
  it('CudaError carries code, symbol, function and text, and round-trips as plain data', () => {
    const error = new CudaError(100, 'cuInit');
    expect(error).toMatchObject({ name: 'CudaError', code: 100, symbol: 'CUDA_ERROR_NO_DEVICE', fn: 'cuInit', text: 'no CUDA-capable device is detected' });
    expect(error.message).toBe('cuInit failed: CUDA_ERROR_NO_DEVICE (100): no CUDA-capable device is detected');
    const rebuilt = CudaError.from(structuredClone(error.toJSON()));
    expect(rebuilt).toBeInstanceOf(CudaError);
    expect(rebuilt.toJSON()).toEqual({ code: 100, name: 'CUDA_ERROR_NO_DEVICE', fn: 'cuInit', message: 'no CUDA-capable device is detected' });
  });

  it('CudaError keeps the name and text the driver reported over the built-in table', () => {
    const error = new CudaError(9999, 'cuMemAlloc_v2', 'driver text', 'CUDA_ERROR_FUTURE');
    expect(error.toJSON()).toEqual({ code: 9999, name: 'CUDA_ERROR_FUTURE', fn: 'cuMemAlloc_v2', message: 'driver text' });
  });

  it('CudaVerificationError says where the copy differed, in hex', () => {
    const error = new CudaVerificationError(1, 4096, 0xa5, 0x5a);
    expect(error.message).toBe('device 1: byte 4096 read back as 0x5a, expected 0xa5');
    expect(error.toJSON()).toEqual({ ordinal: 1, firstBadOffset: 4096, expected: 0xa5, actual: 0x5a });
  });

  it('CudaLibraryLoadError and CudaTimeoutError describe themselves', () => {
    expect(new CudaLibraryLoadError([{ path: 'libcuda.so.1', error: 'not found' }]).message).toBe(
      'libcuda.so.1 could not be loaded; tried libcuda.so.1 (not found)',
    );
    expect(new CudaTimeoutError('cuInit', 250)).toMatchObject({ symbol: 'CUDA_CALL_TIMEOUT', message: 'cuInit did not finish within 250 ms' });
  });
});

import { describe, expect, it } from 'vitest';
import { NvmlError, NvmlLibraryLoadError, NvmlShutdownError, NvmlTimeoutError } from './nvml.errors.js';

describe('NVML errors', () => {
  it('NvmlError carries code, symbol, function and the library text', () => {
    const error = new NvmlError(15, 'nvmlDeviceGetTemperature', 'GPU is lost');
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'NvmlError', code: 15, symbol: 'NVML_ERROR_GPU_IS_LOST', fn: 'nvmlDeviceGetTemperature', text: 'GPU is lost' });
    expect(error.message).toBe('nvmlDeviceGetTemperature failed: NVML_ERROR_GPU_IS_LOST (15): GPU is lost');
  });

  it('NvmlError takes the built-in text when none is given', () => {
    expect(new NvmlError(9, 'nvmlInit_v2').text).toBe('Driver Not Loaded');
  });

  it('NvmlError round-trips through its plain-data form', () => {
    const error = new NvmlError(999, 'nvmlDeviceGetHandleByUUID', 'Unknown Error');
    const data = error.toJSON();
    expect(data).toEqual({ code: 999, name: 'NVML_ERROR_UNKNOWN', fn: 'nvmlDeviceGetHandleByUUID', message: 'Unknown Error' });
    expect(JSON.parse(JSON.stringify(error))).toEqual(data);
    const rebuilt = NvmlError.from(structuredClone(data));
    expect(rebuilt).toBeInstanceOf(NvmlError);
    expect(rebuilt.toJSON()).toEqual(data);
    expect(rebuilt.message).toBe(error.message);
  });

  it('NvmlShutdownError is an NvmlError with the UNINITIALIZED code', () => {
    const error = new NvmlShutdownError('nvmlDeviceGetCount_v2');
    expect(error).toBeInstanceOf(NvmlError);
    expect(error).toMatchObject({ code: 1, symbol: 'NVML_ERROR_UNINITIALIZED', fn: 'nvmlDeviceGetCount_v2' });
    expect(error.message).toContain('shut down');
  });

  it('NvmlLibraryLoadError lists every path tried with the loader text', () => {
    const error = new NvmlLibraryLoadError([
      { path: 'libnvidia-ml.so.1', error: 'libnvidia-ml.so.1: cannot open shared object file: No such file or directory' },
      { path: '/usr/local/cuda/lib64/stubs/libnvidia-ml.so', error: 'refused: a CUDA toolkit stub library, not the driver' },
    ]);
    expect(error).toMatchObject({ name: 'NvmlLibraryLoadError', code: 12, symbol: 'NVML_ERROR_LIBRARY_NOT_FOUND' });
    expect(error.message).toBe(
      'libnvidia-ml.so.1 could not be loaded; tried libnvidia-ml.so.1 (libnvidia-ml.so.1: cannot open shared object file: ' +
        'No such file or directory); /usr/local/cuda/lib64/stubs/libnvidia-ml.so (refused: a CUDA toolkit stub library, not the driver)',
    );
  });

  it('NvmlTimeoutError names the blocked function only when known', () => {
    const blocked = new NvmlTimeoutError('sample of GPU-1', 'nvmlDeviceGetTemperature', 500, 512.4);
    expect(blocked).toMatchObject({ name: 'NvmlTimeoutError', symbol: 'NVML_CALL_TIMEOUT', fn: 'nvmlDeviceGetTemperature', timeoutMs: 500 });
    expect(blocked.message).toBe('sample of GPU-1 did not finish within 500 ms (blocked in nvmlDeviceGetTemperature for 512 ms)');
    expect(new NvmlTimeoutError('system:list', null, 500, 0).message).toBe('system:list did not finish within 500 ms');
  });
});

import { describe, expect, it } from 'vitest';
import { ConfigValidationError, loadGpuConfig, loadHealthConfig, loadHttpConfig, validateEnvironment } from './index.js';

describe('configuration', () => {
  it('applies the documented defaults', () => {
    expect(loadHttpConfig({})).toEqual({
      port: 8000,
      host: '0.0.0.0',
      logLevel: 'info',
      logFormat: 'json',
      swaggerEnabled: true,
      drainDelayMs: 5000,
      shutdownTimeoutMs: 20000,
    });
    const gpu = loadGpuConfig({});
    expect(gpu).toMatchObject({
      minCount: 1,
      minMemoryBytes: 12 * 1024 ** 3,
      minComputeCapability: null,
      cudaSmokeTest: true,
      nvmlLibraryPath: null,
      callTimeoutMs: 500,
      minHealthyCount: null,
      ignoredXids: [13, 31, 43, 45, 68, 109],
      criticalXids: [],
      unrecoverableAction: 'fail-liveness',
    });
    expect(loadHealthConfig({})).toEqual({
      heapMaxRatio: 0.9,
      heapMaxBytes: null,
      eventLoopDelayMaxMs: 1000,
      diskPath: '/',
      diskMaxUsedRatio: 0.95,
    });
  });

  it('parses typed values', () => {
    const gpu = loadGpuConfig({
      GPU_MIN_COMPUTE_CAPABILITY: '8.6',
      GPU_MIN_MEMORY_GIB: '0.5',
      GPU_CUDA_SMOKE_TEST: 'false',
      GPU_XID_CRITICAL: '48, 79',
      CUDA_VISIBLE_DEVICES: '1',
      CUDA_DEVICE_ORDER: 'PCI_BUS_ID',
    });
    expect(gpu.minComputeCapability).toEqual({ major: 8, minor: 6 });
    expect(gpu.minMemoryBytes).toBe(512 * 1024 ** 2);
    expect(gpu.cudaSmokeTest).toBe(false);
    expect(gpu.criticalXids).toEqual([48, 79]);
    expect(gpu.cudaVisibleDevices).toBe('1');
    expect(gpu.cudaDeviceOrder).toBe('PCI_BUS_ID');
    expect(loadHttpConfig({ NODE_ENV: 'development' }).logFormat).toBe('pretty');
    expect(loadHttpConfig({ NODE_ENV: 'development', LOG_FORMAT: 'json' }).logFormat).toBe('json');
  });

  it('treats an empty variable as unset', () => {
    expect(loadHttpConfig({ PORT: '' }).port).toBe(8000);
    expect(loadGpuConfig({ NVML_LIBRARY_PATH: '' }).nvmlLibraryPath).toBeNull();
  });

  it('reports every invalid variable with its rule and never the value', () => {
    const secret = 'hunter2-not-a-number';
    let error: unknown;
    try {
      validateEnvironment({ PORT: secret, GPU_MIN_COMPUTE_CAPABILITY: '8', LOG_LEVEL: 'loud', HEALTH_HEAP_MAX_RATIO: '2' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigValidationError);
    const issues = (error as ConfigValidationError).issues;
    expect(issues).toEqual(
      expect.arrayContaining([
        { variable: 'PORT', rule: 'must be a whole number from 1 to 65535' },
        { variable: 'LOG_LEVEL', rule: 'must be one of fatal, error, warn, info, debug, trace, silent' },
        { variable: 'GPU_MIN_COMPUTE_CAPABILITY', rule: 'must be a compute capability such as 8.0' },
        { variable: 'HEALTH_HEAP_MAX_RATIO', rule: 'must be at most 1' },
      ]),
    );
    expect(issues).toHaveLength(4);
    expect((error as Error).message).not.toContain(secret);
  });

  it('rejects out-of-range numbers', () => {
    expect(() => loadHttpConfig({ PORT: '70000' })).toThrow('PORT must be at most 65535');
    expect(() => loadGpuConfig({ GPU_XID_IGNORED: '13,x' })).toThrow(ConfigValidationError);
    expect(() => loadGpuConfig({ GPU_UNRECOVERABLE_ACTION: 'reboot' })).toThrow('must be one of fail-liveness, exit');
  });
});

// The fake's own logic; the behaviour it shares with the binding is in the contract suite.
import { nvmlPreset } from '@app/nvml/testing';
import { describe, expect, it } from 'vitest';
import { cudaDevices, FakeCudaClient } from './fake-cuda.client.js';

describe('cudaDevices', () => {
  it('orders devices fastest first, then by PCI bus', () => {
    expect(cudaDevices(nvmlPreset('mixed-order')).map((d) => [d.name, d.pciBusId])).toEqual([
      ['NVIDIA H100 80GB HBM3', '0000:41:00.0'],
      ['Tesla T4', '0000:01:00.0'],
    ]);
  });

  it('gives a MIG-enabled GPU its MIG devices instead of itself', () => {
    const [gpu] = nvmlPreset('a100-mig').gpus;
    expect(cudaDevices(nvmlPreset('a100-mig')).map((d) => [d.uuid, d.gpuUuid])).toEqual(gpu!.migDevices.map((m) => [m.uuid, gpu!.uuid]));
  });
});

describe('FakeCudaClient controls', () => {
  it('refuses faults on functions the binding never calls and on GPUs the preset lacks', () => {
    const fake = new FakeCudaClient({ preset: 'h200' });
    expect(() => fake.failCall('cuMemAlloc', 2)).toThrow('cuMemAlloc is not a driver function the binding calls');
    expect(() => fake.failAllocation({ gpuUuid: 'GPU-nope' })).toThrow('no CUDA device on GPU GPU-nope');
  });

  it('counts driver calls, the cleanup ones after a failure included', async () => {
    const fake = new FakeCudaClient({ preset: 'h200' });
    fake.corruptCopy({ offset: 1 << 30 });
    await expect(fake.smokeTest(0, 4096)).rejects.toMatchObject({ firstBadOffset: 4095, actual: 0x5a });
    expect(fake.counters().calls).toMatchObject({ cuMemAlloc_v2: 1, cuMemcpyDtoH_v2: 1, cuMemFree_v2: 1, cuCtxPopCurrent_v2: 1, cuDevicePrimaryCtxRelease_v2: 1 });
  });
});

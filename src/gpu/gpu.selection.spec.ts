import type { CudaInventory } from '@app/cuda';
import type { NvmlDeviceIdentity } from '@app/nvml';
import { describe, expect, it } from 'vitest';
import { selectGpus } from './gpu.selection.js';

const T4 = 'GPU-11111111-1111-1111-1111-111111111111';
const H100 = 'GPU-22222222-2222-2222-2222-222222222222';
const MIG_A = 'MIG-33333333-3333-3333-3333-333333333333';

function identity(index: number, uuid: string, name: string, pciBusId: string, migUuids: string[] = []): NvmlDeviceIdentity {
  return {
    index,
    uuid,
    name,
    serial: null,
    pciBusId,
    computeCapability: { major: 9, minor: 0 },
    memoryTotalBytes: 1,
    migEnabled: migUuids.length > 0,
    migDevices: migUuids.map((u, i) => ({ uuid: u, index: i, name: null, gpuInstanceId: i, computeInstanceId: 0, memoryTotalBytes: 1 })),
    errors: {},
  };
}

const small = identity(0, T4, 'NVIDIA T4', '00000000:01:00.0');
const big = identity(1, H100, 'NVIDIA H100', '00000000:41:00.0', [MIG_A]);
const cuda = (...uuids: string[]): CudaInventory => ({
  driverVersion: '13.0',
  devices: uuids.map((uuid, ordinal) => ({ ordinal, uuid, name: 'x', pciBusId: null, totalMemoryBytes: null, computeCapability: null })),
});

describe('GPU selection', () => {
  it('uses every NVML GPU when CUDA_VISIBLE_DEVICES is unset, matched to CUDA by UUID', () => {
    const s = selectGpus([small, big], cuda(H100, T4), { cudaVisibleDevices: null, nvidiaVisibleDevices: null });
    expect(s.problems).toEqual([]);
    expect(s.gpus.map((g) => [g.identity.uuid, g.cudaOrdinal, g.selectedMigUuids])).toEqual([
      [T4, 1, null],
      [H100, 0, null],
    ]);
  });

  it('selects exactly what CUDA resolved CUDA_VISIBLE_DEVICES to, keyed by UUID', () => {
    const s = selectGpus([small, big], cuda(H100), { cudaVisibleDevices: '1', nvidiaVisibleDevices: null });
    expect(s.problems).toEqual([]);
    expect(s.gpus.map((g) => g.identity.uuid)).toEqual([H100]);
    expect(s.notSelected).toEqual([T4]);
  });

  it('selects a MIG device under its parent', () => {
    const s = selectGpus([small, big], cuda(MIG_A), { cudaVisibleDevices: MIG_A, nvidiaVisibleDevices: null });
    expect(s.problems).toEqual([]);
    expect(s.gpus).toEqual([{ identity: big, cudaOrdinal: 0, selectedMigUuids: [MIG_A] }]);
  });

  it('names the first CUDA_VISIBLE_DEVICES entry that matched nothing', () => {
    const s = selectGpus([small, big], cuda(T4), { cudaVisibleDevices: '0,7', nvidiaVisibleDevices: null });
    expect(s.problems).toEqual([
      { reason: 'visible_device_not_found', detail: 'CUDA_VISIBLE_DEVICES entry "7" matches no device CUDA can see' },
    ]);
    const none = selectGpus([small, big], cuda(), { cudaVisibleDevices: 'GPU-ffff', nvidiaVisibleDevices: null });
    expect(none.problems[0]?.detail).toBe('CUDA_VISIBLE_DEVICES entry "GPU-ffff" matches no device CUDA can see');
    expect(selectGpus([small], cuda(), { cudaVisibleDevices: '', nvidiaVisibleDevices: null }).problems[0]?.reason).toBe(
      'visible_device_not_found',
    );
  });

  it('checks NVIDIA_VISIBLE_DEVICES UUIDs (full or prefix) against what NVML sees', () => {
    expect(selectGpus([small, big], null, { cudaVisibleDevices: null, nvidiaVisibleDevices: `${T4.slice(0, 12)},2` }).problems).toEqual([]);
    expect(selectGpus([small, big], null, { cudaVisibleDevices: null, nvidiaVisibleDevices: 'GPU-99999999' }).problems).toEqual([
      { reason: 'visible_device_not_found', detail: 'NVIDIA_VISIBLE_DEVICES names GPU-99999999, which NVML does not see' },
    ]);
  });

  it('reports a CUDA device NVML cannot see', () => {
    const other = 'GPU-44444444-4444-4444-4444-444444444444';
    expect(selectGpus([small], cuda(other), { cudaVisibleDevices: '0', nvidiaVisibleDevices: null }).problems).toEqual([
      { reason: 'visible_device_not_found', detail: `CUDA device 0 (${other}) is not visible to NVML` },
    ]);
  });
});

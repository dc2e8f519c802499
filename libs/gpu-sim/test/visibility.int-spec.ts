import { beforeAll, describe, expect, it } from 'vitest';

import { ensureSimBuilt, presetPath, writeScenario } from '@app/gpu-sim';

import { pick, runDriver, uuidHex } from './driver.js';

beforeAll(() => {
  ensureSimBuilt();
});

const H100 = 'GPU-9f8e7d6c-5b4a-4c3d-9e2f-1a0b9c8d7e6f'; // mixed-order GPU 1, bus 41
const T4 = 'GPU-1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d'; // mixed-order GPU 0, bus 01
const H100X8_GPU2 = 'GPU-c5a1f3e8-6d2b-4a79-b0c4-1e8f7a6d5c62';
const H100X8_GPU5 = 'GPU-e4f3a2b1-c0d9-4e8f-97a6-b5c4d3e2f195';

interface CudaDevice {
  name: string;
  uuid: string;
  uuidV2: string;
  pci: string;
}

async function cudaDevices(preset: Parameters<typeof presetPath>[0], env: Record<string, string>) {
  const lines = await runDriver(['cu_init', 'cu_devices'], { scenarioPath: presetPath(preset), env });
  const init = pick(lines, 'cu_init').rc;
  const devices = init === 0 ? (pick(lines, 'cu_devices').value as CudaDevice[]) : [];
  return { init, devices, pcis: devices.map((d) => d.pci) };
}

async function nvmlUuids(preset: Parameters<typeof presetPath>[0], env: Record<string, string>) {
  const lines = await runDriver(['init', 'count'], { scenarioPath: presetPath(preset), env });
  expect(pick(lines, 'init').rc).toBe(0);
  const count = pick(lines, 'count').value as number;
  if (count === 0) return [];
  const args = ['init'];
  for (let i = 0; i < count; i++) args.push('uuid', `${i}`);
  return (await runDriver(args, { scenarioPath: presetPath(preset), env })).slice(1).map((l) => l.value);
}

describe('NVIDIA_VISIBLE_DEVICES (container toolkit)', () => {
  it('indices and UUIDs select GPUs, renumbered from 0 in host order', async () => {
    const lines = await runDriver(
      ['init', 'count', 'uuid', '0', 'uuid', '1', 'index', '1', 'minor', '1', 'handle', '2', 'handle', `uuid:${H100X8_GPU2}`],
      { scenarioPath: presetPath('h100x8'), env: { NVIDIA_VISIBLE_DEVICES: `${H100X8_GPU5},3` } },
    );
    expect(pick(lines, 'count').value).toBe(2);
    expect(pick(lines, 'uuid', 0).value).toBe('GPU-0e9d8c7b-5a4f-4e3d-a2c1-b0f9e8d7c673'); // host GPU 3
    expect(pick(lines, 'uuid', 1).value).toBe(H100X8_GPU5);
    expect(pick(lines, 'index').value).toBe(1);
    expect(pick(lines, 'minor').value).toBe(5); // device minor numbers stay the host's
    expect(pick(lines, 'handle', 0).rc).toBe(2);
    expect(pick(lines, 'handle', 1).rc).toBe(6); // hidden GPUs cannot be found
  });

  it('all / void / unset show every GPU; none / empty show none and nvmlInit still succeeds', async () => {
    expect(await nvmlUuids('mixed-order', { NVIDIA_VISIBLE_DEVICES: 'all' })).toEqual([T4, H100]);
    expect(await nvmlUuids('mixed-order', { NVIDIA_VISIBLE_DEVICES: 'void' })).toEqual([T4, H100]);
    expect(await nvmlUuids('mixed-order', {})).toEqual([T4, H100]);
    expect(await nvmlUuids('mixed-order', { NVIDIA_VISIBLE_DEVICES: 'none' })).toEqual([]);
    expect(await nvmlUuids('mixed-order', { NVIDIA_VISIBLE_DEVICES: '' })).toEqual([]);
  });

  it('applies to CUDA the same way', async () => {
    expect((await cudaDevices('mixed-order', { NVIDIA_VISIBLE_DEVICES: '0' })).devices.map((d) => d.name)).toEqual([
      'Tesla T4',
    ]);
    expect((await cudaDevices('mixed-order', { NVIDIA_VISIBLE_DEVICES: 'none' })).init).toBe(100);
    // CUDA ordinals count the container's GPUs only
    const inside = await cudaDevices('h100x8', { NVIDIA_VISIBLE_DEVICES: '6,7', CUDA_VISIBLE_DEVICES: '1' });
    expect(inside.pcis).toEqual(['0000:DB:00.0']);
  });
});

describe('CUDA_VISIBLE_DEVICES and CUDA_DEVICE_ORDER', () => {
  it('the default order is fastest first; PCI_BUS_ID orders by bus id', async () => {
    expect((await cudaDevices('mixed-order', {})).pcis).toEqual(['0000:41:00.0', '0000:01:00.0']);
    expect((await cudaDevices('mixed-order', { CUDA_DEVICE_ORDER: 'FASTEST_FIRST' })).pcis).toEqual([
      '0000:41:00.0',
      '0000:01:00.0',
    ]);
    expect((await cudaDevices('mixed-order', { CUDA_DEVICE_ORDER: 'PCI_BUS_ID' })).pcis).toEqual([
      '0000:01:00.0',
      '0000:41:00.0',
    ]);
  });

  it('ordinals refer to that order and set the enumeration order', async () => {
    expect((await cudaDevices('mixed-order', { CUDA_VISIBLE_DEVICES: '1' })).pcis).toEqual(['0000:01:00.0']);
    expect((await cudaDevices('mixed-order', { CUDA_VISIBLE_DEVICES: '1', CUDA_DEVICE_ORDER: 'PCI_BUS_ID' })).pcis).toEqual([
      '0000:41:00.0',
    ]);
    expect((await cudaDevices('h100x8', { CUDA_VISIBLE_DEVICES: '5,2', CUDA_DEVICE_ORDER: 'PCI_BUS_ID' })).pcis).toEqual([
      '0000:AB:00.0',
      '0000:3A:00.0',
    ]);
  });

  it('full UUIDs and unique prefixes, with or without GPU-', async () => {
    expect((await cudaDevices('mixed-order', { CUDA_VISIBLE_DEVICES: H100 })).pcis).toEqual(['0000:41:00.0']);
    expect((await cudaDevices('mixed-order', { CUDA_VISIBLE_DEVICES: 'GPU-1a2b' })).pcis).toEqual(['0000:01:00.0']);
    expect((await cudaDevices('mixed-order', { CUDA_VISIBLE_DEVICES: '9f8e7d6c-5b4a,GPU-1' })).pcis).toEqual([
      '0000:41:00.0',
      '0000:01:00.0',
    ]);
  });

  it('parsing stops at the first entry that names nothing; earlier entries stay', async () => {
    expect((await cudaDevices('h100x8', { CUDA_VISIBLE_DEVICES: '0,2,-1,1', CUDA_DEVICE_ORDER: 'PCI_BUS_ID' })).pcis).toEqual([
      '0000:18:00.0',
      '0000:3A:00.0',
    ]);
    expect((await cudaDevices('mixed-order', { CUDA_VISIBLE_DEVICES: '0,7,1' })).pcis).toEqual(['0000:41:00.0']);
    expect((await cudaDevices('mixed-order', { CUDA_VISIBLE_DEVICES: `${T4},GPU-ffff` })).pcis).toEqual(['0000:01:00.0']);
    // an ambiguous prefix names nothing: all sixteen H200 UUIDs start alike
    expect((await cudaDevices('h200x16', { CUDA_VISIBLE_DEVICES: 'GPU-a7edcf28' })).init).toBe(100);
  });

  it('nothing visible: cuInit answers CUDA_ERROR_NO_DEVICE', async () => {
    expect((await cudaDevices('mixed-order', { CUDA_VISIBLE_DEVICES: '' })).init).toBe(100);
    expect((await cudaDevices('mixed-order', { CUDA_VISIBLE_DEVICES: '-1' })).init).toBe(100);
    expect((await cudaDevices('mixed-order', { CUDA_VISIBLE_DEVICES: '2' })).init).toBe(100);
  });

  it('MIG UUIDs make that MIG device the CUDA device (uuid_v2 = MIG, uuid = parent GPU)', async () => {
    const mig1 = 'MIG-8e7d6c5b-4a39-5f28-8d1c-0b9a8f7e6d51';
    const parent = 'GPU-6b1f3c0e-92d4-4a57-b8e1-2c3d4e5f6a71';
    for (const spec of [mig1, 'MIG-8e7d6c5b', `MIG-${parent}/2/0`]) {
      const { devices } = await cudaDevices('a100-mig', { CUDA_VISIBLE_DEVICES: spec });
      expect(devices, spec).toHaveLength(1);
      expect(devices[0]!.uuidV2).toBe(uuidHex(mig1));
      expect(devices[0]!.uuid).toBe(uuidHex(parent));
      expect(devices[0]!.name).toBe('NVIDIA A100-SXM4-80GB MIG 3g.40gb');
    }
  });

  it('UUID bytes match the NVML UUID string', async () => {
    const scenarioPath = writeScenario({ preset: 'h100x8' });
    const args = ['init'];
    for (let i = 0; i < 8; i++) args.push('uuid', `${i}`);
    const nvml = (await runDriver(args, { scenarioPath })).slice(1).map((l) => uuidHex(l.value as string));
    const lines = await runDriver(['cu_init', 'cu_devices'], { scenarioPath });
    const cuda = (pick(lines, 'cu_devices').value as CudaDevice[]).map((d) => d.uuid);
    expect(cuda.toSorted()).toEqual(nvml.toSorted());
  });
});

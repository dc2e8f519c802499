import { afterEach, describe, expect, it } from 'vitest';
import { getJson, type SimService, startService, startSimService } from '../support/service.js';
import { simEnv, writeScenario } from '@app/gpu-sim';

const T4 = { uuid: 'GPU-1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d', pciBusId: '00000000:01:00.0', name: 'Tesla T4' };
const H100 = { uuid: 'GPU-9f8e7d6c-5b4a-4c3d-9e2f-1a0b9c8d7e6f', pciBusId: '00000000:41:00.0', name: 'NVIDIA H100 80GB HBM3' };
const A100 = 'GPU-6b1f3c0e-92d4-4a57-b8e1-2c3d4e5f6a71';
const MIG_1 = 'MIG-8e7d6c5b-4a39-5f28-8d1c-0b9a8f7e6d51';

type Gpus = { gpus: Array<{ uuid: string; pciBusId: string; name: string; index: number; mig: { devices: Array<{ uuid: string; selected: boolean }> } }> };
let service: SimService | null = null;
afterEach(async () => {
  await service?.stop('SIGKILL');
  service = null;
});

async function described(env: Record<string, string>, preset: 'mixed-order' | 'a100-mig' = 'mixed-order'): Promise<Gpus['gpus']> {
  service = await startSimService({ scenario: { preset }, env });
  const { status, body } = await getJson<Gpus>(service.baseUrl, '/gpus');
  expect(status).toBe(200);
  return body.gpus;
}

const identity = (g: Gpus['gpus'][number]) => ({ uuid: g.uuid, pciBusId: g.pciBusId, name: g.name });

describe('S10: which GPUs, keyed by UUID', () => {
  it('lists both GPUs in NVML order without a selector', async () => {
    expect((await described({})).map(identity)).toEqual([T4, H100]);
  });

  it('CUDA_VISIBLE_DEVICES=1 in PCI bus order describes exactly the big card', async () => {
    expect((await described({ CUDA_VISIBLE_DEVICES: '1', CUDA_DEVICE_ORDER: 'PCI_BUS_ID' })).map(identity)).toEqual([H100]);
  });

  it('CUDA orders the fastest GPU first by default, so ordinal 0 is the big card', async () => {
    const gpus = await described({ CUDA_VISIBLE_DEVICES: '0' });
    expect(gpus.map(identity)).toEqual([H100]);
    // NVML's index stays for display.
    expect(gpus[0]!.index).toBe(1);
  });

  it('a UUID prefix selects the big card', async () => {
    expect((await described({ CUDA_VISIBLE_DEVICES: H100.uuid.slice(0, 12) })).map(identity)).toEqual([H100]);
  });

  it('a MIG UUID selects that MIG device under its parent', async () => {
    const gpus = await described({ CUDA_VISIBLE_DEVICES: MIG_1 }, 'a100-mig');
    expect(gpus.map((g) => g.uuid)).toEqual([A100]);
    expect(gpus[0]!.mig.devices.map((d) => [d.uuid, d.selected])).toEqual([
      ['MIG-2f9c1b4e-7a3d-5e62-9b8c-1d2e3f4a5b60', false],
      [MIG_1, true],
    ]);
  });

  it('NVIDIA_VISIBLE_DEVICES, applied by the container runtime, leaves NVML the chosen GPU', async () => {
    expect((await described({ NVIDIA_VISIBLE_DEVICES: H100.uuid })).map(identity)).toEqual([H100]);
  });

  it('a selector that matches nothing fails fast with visible_device_not_found', async () => {
    for (const env of [{ CUDA_VISIBLE_DEVICES: '5' }, { CUDA_VISIBLE_DEVICES: '0,7' }, { CUDA_VISIBLE_DEVICES: 'GPU-ffffffff' }]) {
      const dir = writeScenario({ preset: 'mixed-order' });
      const s = await startService({ env: { ...simEnv({ scenarioPath: dir }), ...env }, waitForReady: false });
      const { code } = await s.exited;
      expect(code).toBe(12);
      const fatal = s.records().filter((r) => r.level === 60);
      expect(fatal).toHaveLength(1);
      expect(fatal[0]).toMatchObject({ reason: 'visible_device_not_found' });
    }
  });
});

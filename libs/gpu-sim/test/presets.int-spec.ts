import { beforeAll, describe, expect, it } from 'vitest';

import { ensureSimBuilt, PRESET_NAMES, presetPath, writeScenario, type SimPresetName } from '@app/gpu-sim';

import { pick, runDriver, uuidHex } from './driver.js';

beforeAll(() => {
  ensureSimBuilt();
});

const EXPECTED_COUNT: Record<SimPresetName, number> = {
  h200: 1,
  h100x8: 8,
  'a100-mig': 1,
  gh200: 1,
  empty: 0,
  'mixed-order': 2,
  h200x16: 16,
};

describe('presets', () => {
  it.each(PRESET_NAMES)('%s loads through a scenario and through its file', async (name) => {
    const scenarioPath = writeScenario({ preset: name });
    const lines = await runDriver(['describe', 'init', 'count', 'cu_init', 'cu_count'], { scenarioPath });
    expect(pick(lines, 'describe').value).toEqual({ simulator: 'gpu-sim', preset: name, scenario: scenarioPath });
    expect(pick(lines, 'init').rc).toBe(0);
    expect(pick(lines, 'count').value).toBe(EXPECTED_COUNT[name]);
    expect(pick(lines, 'cu_init').rc).toBe(EXPECTED_COUNT[name] === 0 ? 100 : 0);

    const direct = await runDriver(['init', 'count'], { scenarioPath: presetPath(name) });
    expect(pick(direct, 'count').value).toBe(EXPECTED_COUNT[name]);
  });

  it('without GPU_SIM_SCENARIO the libraries are the h200 preset', async () => {
    const lines = await runDriver(['describe', 'cu_describe', 'init', 'count', 'name', '0']);
    expect(pick(lines, 'describe').value).toEqual({ simulator: 'gpu-sim', preset: 'h200', scenario: null });
    expect(pick(lines, 'cu_describe').value).toEqual({ simulator: 'gpu-sim', preset: 'h200', scenario: null });
    expect(pick(lines, 'name').value).toBe('NVIDIA H200');
  });

  it('h200 answers exactly as a real H200 with driver 580 does', async () => {
    const lines = await runDriver([
      'init', 'driver_version', 'nvml_version', 'cuda_version', 'cuda_version_v1', 'count',
      'name', '0', 'uuid', '0', 'serial', '0', 'pci', '0', 'index', '0', 'minor', '0', 'cc', '0', 'arch', '0',
      'memory', '0', 'memory_v2', '0', 'temp', '0',
      'threshold', '0', '0', 'threshold', '0', '1', 'threshold', '0', '2', 'threshold', '0', '3',
      'threshold', '0', '4', 'threshold', '0', '5', 'threshold', '0', '6',
      'power', '0', 'power_limit', '0', 'energy', '0', 'util', '0', 'pstate', '0',
      'clock_reasons', '0', 'throttle_reasons', '0', 'clock', '0', '1', 'clock', '0', '2', 'clock', '0', '0',
      'fan', '0', 'num_fans', '0', 'ecc_mode', '0',
      'ecc_errors', '0', '0', '0', 'ecc_errors', '0', '1', '0', 'ecc_errors', '0', '0', '1', 'ecc_errors', '0', '1', '1',
      'remapped', '0', 'mig_mode', '0', 'max_mig', '0', 'is_mig', '0', 'procs', '0', 'event_types', '0',
    ]);
    const v = (cmd: string, nth = 0) => {
      const l = pick(lines, cmd, nth);
      expect(l.rc, `${cmd} #${nth}`).toBe(0);
      return l.value;
    };
    expect(v('driver_version')).toBe('580.159.04');
    expect(v('nvml_version')).toBe('13.580.159.04');
    expect(v('cuda_version')).toBe(13000);
    expect(v('cuda_version_v1')).toBe(13000);
    expect(v('count')).toBe(1);
    expect(v('name')).toBe('NVIDIA H200');
    expect(v('uuid')).toBe('GPU-a7edcf28-a056-2c49-34b6-5db71afeea6a');
    expect(v('serial')).toBe('1654024077256');
    expect(v('pci')).toEqual({
      busId: '00000000:00:06.0',
      busIdLegacy: '0000:00:06.0',
      domain: 0,
      bus: 0,
      device: 6,
      pciDeviceId: 0x233510de,
      pciSubSystemId: 0x18bf10de,
    });
    expect(v('index')).toBe(0);
    expect(v('minor')).toBe(0);
    expect(v('cc')).toBe('9.0');
    expect(v('arch')).toBe(9);
    expect(v('memory')).toEqual({ total: 150754820096, free: 150109880320, used: 644939776 });
    expect(v('memory_v2')).toEqual({
      version: 0x02000028,
      total: 150754820096,
      reserved: 644939776,
      free: 150109880320,
      used: 0,
    });
    expect(v('temp')).toBe(41);
    expect([0, 1, 2, 3].map((n) => v('threshold', n))).toEqual([95, 89, 95, 87]);
    expect([4, 5, 6].map((n) => pick(lines, 'threshold', n).rc)).toEqual([3, 3, 3]);
    expect(v('power')).toBe(128458);
    expect(v('power_limit')).toBe(700000);
    expect(v('energy')).toBe(2254251);
    expect(v('util')).toEqual({ gpu: 0, memory: 0 });
    expect(v('pstate')).toBe(0);
    expect(v('clock_reasons')).toBe(1);
    expect(v('throttle_reasons')).toBe(1);
    expect([0, 1, 2].map((n) => v('clock', n))).toEqual([1980, 3201, 1980]);
    expect(pick(lines, 'fan').rc).toBe(3);
    expect(v('num_fans')).toBe(0);
    expect(v('ecc_mode')).toEqual({ current: 1, pending: 1 });
    expect([0, 1, 2, 3].map((n) => v('ecc_errors', n))).toEqual([0, 0, 0, 0]);
    expect(v('remapped')).toEqual({ correctable: 0, uncorrectable: 0, pending: 0, failure: 0 });
    expect(v('mig_mode')).toEqual({ current: 0, pending: 0 });
    expect(v('max_mig')).toBe(0);
    expect(v('is_mig')).toBe(0);
    expect(v('procs')).toEqual([]);
    expect(v('event_types')).toBe(0xff9f);
  });

  it('h200 through CUDA: name, UUID bytes, PCI, memory and attributes', async () => {
    const lines = await runDriver(['cu_init', 'cu_devices', 'cu_mem', '0', 'cu_attr', '0', '50', 'cu_attr', '0', '33']);
    expect(pick(lines, 'cu_devices').value).toEqual([
      {
        ordinal: 0,
        name: 'NVIDIA H200',
        uuid: uuidHex('GPU-a7edcf28-a056-2c49-34b6-5db71afeea6a'),
        uuidV2: 'a7edcf28a0562c4934b65db71afeea6a',
        pci: '0000:00:06.0',
        cc: '9.0',
        sms: 132,
      },
    ]);
    expect(pick(lines, 'cu_mem').value).toBe(150754820096 - 644939776);
    expect(pick(lines, 'cu_attr', 0).value).toBe(0);
    expect(pick(lines, 'cu_attr', 1).value).toBe(0);
  });

  it('h100x8 is eight distinct H100 80GB HBM3', async () => {
    const args = ['init'];
    for (let i = 0; i < 8; i++) args.push('name', `${i}`, 'uuid', `${i}`, 'serial', `${i}`, 'pci', `${i}`, 'memory', `${i}`, 'cc', `${i}`, 'power_limit', `${i}`);
    args.push('cu_init', 'cu_devices');
    const lines = await runDriver(args, { scenarioPath: presetPath('h100x8') });
    const all = (cmd: string) => Array.from({ length: 8 }, (_, i) => pick(lines, cmd, i).value);
    expect(new Set(all('name'))).toEqual(new Set(['NVIDIA H100 80GB HBM3']));
    expect(new Set(all('uuid')).size).toBe(8);
    expect(new Set(all('serial')).size).toBe(8);
    expect(new Set(all('pci').map((p) => (p as { busId: string }).busId)).size).toBe(8);
    expect(all('memory').map((m) => (m as { total: number }).total)).toEqual(Array(8).fill(81559 * 2 ** 20));
    expect(new Set(all('cc'))).toEqual(new Set(['9.0']));
    expect(new Set(all('power_limit'))).toEqual(new Set([700000]));
    const devices = pick(lines, 'cu_devices').value as Array<{ sms: number }>;
    expect(devices).toHaveLength(8);
    expect(devices.every((d) => d.sms === 132)).toBe(true);
  });

  it('a100-mig: MIG on, two 3g.40gb MIG devices, utilisation not supported', async () => {
    const lines = await runDriver(
      ['init', 'name', '0', 'cc', '0', 'mig_mode', '0', 'max_mig', '0', 'util', '0',
        'mig_handle', '0', '0', 'mig_handle', '0', '1', 'mig_handle', '0', '2',
        'name', 'mig:0:0', 'is_mig', 'mig:0:1', 'cu_init', 'cu_devices'],
      { scenarioPath: presetPath('a100-mig') },
    );
    expect(pick(lines, 'name').value).toBe('NVIDIA A100-SXM4-80GB');
    expect(pick(lines, 'cc').value).toBe('8.0');
    expect(pick(lines, 'mig_mode').value).toEqual({ current: 1, pending: 1 });
    expect(pick(lines, 'max_mig').value).toBe(7);
    expect(pick(lines, 'util').rc).toBe(3);
    expect(pick(lines, 'mig_handle', 0).value).toMatch(/^MIG-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(pick(lines, 'mig_handle', 1).value).toMatch(/^MIG-/);
    expect(pick(lines, 'mig_handle', 2).rc).toBe(6);
    expect(pick(lines, 'name', 1).value).toBe('NVIDIA A100-SXM4-80GB MIG 3g.40gb');
    expect(pick(lines, 'is_mig').value).toBe(1);
    const cuda = pick(lines, 'cu_devices').value as Array<{ name: string; sms: number; uuidV2: string }>;
    expect(cuda.map((d) => d.name)).toEqual(Array(2).fill('NVIDIA A100-SXM4-80GB MIG 3g.40gb'));
    expect(cuda.map((d) => d.sms)).toEqual([42, 42]);
  });

  it('gh200: memory info (v1 and v2) is not supported, the rest reads normally', async () => {
    const lines = await runDriver(
      ['init', 'name', '0', 'memory', '0', 'memory_v2', '0', 'temp', '0', 'power', '0', 'cc', '0', 'cu_init', 'cu_mem', '0'],
      { scenarioPath: presetPath('gh200') },
    );
    expect(pick(lines, 'name').value).toBe('NVIDIA GH200 480GB');
    expect(pick(lines, 'memory').rc).toBe(3);
    expect(pick(lines, 'memory_v2').rc).toBe(3);
    expect(pick(lines, 'temp').rc).toBe(0);
    expect(pick(lines, 'power').rc).toBe(0);
    expect(pick(lines, 'cc').value).toBe('9.0');
    expect(pick(lines, 'cu_mem').value).toBeGreaterThan(0);
  });

  it('empty: NVML works with no devices, cuInit answers CUDA_ERROR_NO_DEVICE', async () => {
    const lines = await runDriver(['init', 'count', 'handle', '0', 'cu_init', 'cu_count'], { scenarioPath: presetPath('empty') });
    expect(pick(lines, 'init').rc).toBe(0);
    expect(pick(lines, 'count').value).toBe(0);
    expect(pick(lines, 'handle').rc).toBe(2);
    expect(pick(lines, 'cu_init').rc).toBe(100);
    expect(pick(lines, 'cu_count').rc).toBe(3);
  });

  it('mixed-order: a T4 on bus 01 and an H100 on bus 41', async () => {
    const lines = await runDriver(['init', 'name', '0', 'cc', '0', 'pci', '0', 'name', '1', 'cc', '1', 'pci', '1'], {
      scenarioPath: presetPath('mixed-order'),
    });
    expect(pick(lines, 'name', 0).value).toBe('Tesla T4');
    expect(pick(lines, 'cc', 0).value).toBe('7.5');
    expect((pick(lines, 'pci', 0).value as { busId: string }).busId).toBe('00000000:01:00.0');
    expect(pick(lines, 'name', 1).value).toBe('NVIDIA H100 80GB HBM3');
    expect(pick(lines, 'cc', 1).value).toBe('9.0');
    expect((pick(lines, 'pci', 1).value as { busId: string }).busId).toBe('00000000:41:00.0');
  });

  it('h200x16: sixteen H200s with distinct identities', async () => {
    const args = ['init'];
    for (let i = 0; i < 16; i++) args.push('uuid', `${i}`, 'pci', `${i}`, 'serial', `${i}`, 'name', `${i}`);
    const lines = await runDriver(args, { scenarioPath: presetPath('h200x16') });
    const all = (cmd: string) => Array.from({ length: 16 }, (_, i) => pick(lines, cmd, i).value);
    expect(new Set(all('uuid')).size).toBe(16);
    expect(new Set(all('serial')).size).toBe(16);
    expect(new Set(all('pci').map((p) => (p as { busId: string }).busId)).size).toBe(16);
    expect(new Set(all('name'))).toEqual(new Set(['NVIDIA H200']));
  });
});

import { beforeAll, describe, expect, it } from 'vitest';

import { ensureSimBuilt, presetPath, writeScenario } from '@app/gpu-sim';

import { pick, runDriver } from './driver.js';

beforeAll(() => {
  ensureSimBuilt();
});

describe('NVML initialisation', () => {
  it('answers NVML_ERROR_UNINITIALIZED before nvmlInit_v2 and after the last nvmlShutdown', async () => {
    const lines = await runDriver([
      'count', 'driver_version', 'event_create', 'handle', '0',
      'init', 'init_flags', '0', 'count', 'shutdown', 'count', 'shutdown', 'count', 'shutdown',
    ]);
    expect(pick(lines, 'count', 0).rc).toBe(1);
    expect(pick(lines, 'driver_version').rc).toBe(1);
    expect(pick(lines, 'event_create').rc).toBe(1);
    expect(pick(lines, 'handle').rc).toBe(1);
    expect(pick(lines, 'init').rc).toBe(0);
    expect(pick(lines, 'init_flags').rc).toBe(0);
    // reference-counted: two inits need two shutdowns
    expect(pick(lines, 'count', 1).rc).toBe(0);
    expect(pick(lines, 'shutdown', 0).rc).toBe(0);
    expect(pick(lines, 'count', 2).rc).toBe(0);
    expect(pick(lines, 'shutdown', 1).rc).toBe(0);
    expect(pick(lines, 'count', 3).rc).toBe(1);
    expect(pick(lines, 'shutdown', 2).rc).toBe(1);
  });

  it('nvmlErrorString gives the driver texts, whether initialised or not', async () => {
    const codes = [0, 1, 2, 3, 6, 7, 9, 10, 15, 17, 18, 25, 26, 27, 28, 29, 30, 999, 12345];
    const lines = await runDriver(codes.flatMap((c) => ['error_string', `${c}`]));
    expect(lines.map((l) => l.value)).toEqual([
      'Success',
      'Uninitialized',
      'Invalid Argument',
      'Not Supported',
      'Not Found',
      'Insufficient Size',
      'Driver Not Loaded',
      'Timeout',
      'GPU is lost',
      'GPU access blocked by the operating system',
      'Driver/library version mismatch',
      'Argument version mismatch',
      'Requested functionality has been deprecated',
      'System is not in ready state',
      'No supported GPUs were found',
      'Resource not in correct state to perform requested operation',
      'Reset type is not supported for given device',
      'Unknown Error',
      'Unknown Error',
    ]);
  });
});

describe('NVML device queries', () => {
  it('short string buffers get NVML_ERROR_INSUFFICIENT_SIZE', async () => {
    const lines = await runDriver([
      'init', 'name_len', '0', '11', 'name_len', '0', '12', 'uuid_len', '0', '40', 'uuid_len', '0', '41',
      'driver_version', '10', 'driver_version', '11', 'nvml_version', '13',
    ]);
    expect(lines.slice(1).map((l) => l.rc)).toEqual([7, 0, 7, 0, 7, 0, 7]);
    expect(pick(lines, 'name_len', 1).value).toBe('NVIDIA H200');
  });

  it('memory v1 counts the reserved memory as used, v2 does not', async () => {
    const scenarioPath = writeScenario({
      preset: 'h200',
      gpus: [{ memoryTotalBytes: '80GiB', memoryReservedBytes: '1GiB', memoryUsedBytes: '10GiB' }],
    });
    const lines = await runDriver(['init', 'memory', '0', 'memory_v2', '0', 'memory_v2', '0', '40'], { scenarioPath });
    const GiB = 2 ** 30;
    expect(pick(lines, 'memory').value).toEqual({ total: 80 * GiB, used: 11 * GiB, free: 69 * GiB });
    expect(pick(lines, 'memory_v2').value).toEqual({
      version: 40 | (2 << 24),
      total: 80 * GiB,
      reserved: GiB,
      used: 10 * GiB,
      free: 69 * GiB,
    });
    expect(pick(lines, 'memory_v2', 1).rc).toBe(25);
  });

  it('processes: *infoCount in/out with NVML_ERROR_INSUFFICIENT_SIZE, v1/v2/v3 layouts', async () => {
    const scenarioPath = writeScenario({
      preset: 'h200',
      gpus: [
        {
          processes: [
            { pid: 1234, usedMemoryBytes: '1GiB' },
            { pid: 5678, usedMemoryBytes: 512 * 2 ** 20 },
          ],
        },
      ],
    });
    const lines = await runDriver(
      ['init', 'procs', '0', '0', 'procs', '0', '1', 'procs', '0', '2', 'procs_v2', '0', 'procs_v1', '0'],
      { scenarioPath },
    );
    expect(pick(lines, 'procs', 0)).toMatchObject({ rc: 7, count: 2 });
    expect(pick(lines, 'procs', 1)).toMatchObject({ rc: 7, count: 2 });
    const expected = [
      { pid: 1234, used: 2 ** 30, gi: 0xffffffff, ci: 0xffffffff },
      { pid: 5678, used: 512 * 2 ** 20, gi: 0xffffffff, ci: 0xffffffff },
    ];
    expect(pick(lines, 'procs', 2)).toMatchObject({ rc: 0, count: 2, value: expected });
    expect(pick(lines, 'procs_v2').value).toEqual(expected);
    expect(pick(lines, 'procs_v1').value).toEqual(expected.map(({ pid, used }) => ({ pid, used })));
  });

  it('finds devices by UUID (any case) and by PCI bus id (long and short form); handles are stable', async () => {
    const lines = await runDriver(
      ['init', 'handle', '3', 'handle', 'uuid:GPU-0E9D8C7B-5A4F-4E3D-A2C1-B0F9E8D7C673', 'handle', 'pci:00000000:5D:00.0',
        'handle', 'pci:0000:5d:00.0', 'handle', 'uuid:GPU-00000000-0000-0000-0000-000000000000', 'handle', 'pci:0000:01:00.0',
        'handle', 'pci:bogus', 'index', 'uuid:GPU-0e9d8c7b-5a4f-4e3d-a2c1-b0f9e8d7c673'],
      { scenarioPath: presetPath('h100x8') },
    );
    const ptr = pick(lines, 'handle', 0).value;
    expect([1, 2, 3].map((n) => pick(lines, 'handle', n).value)).toEqual([ptr, ptr, ptr]);
    expect(pick(lines, 'handle', 4).rc).toBe(6);
    expect(pick(lines, 'handle', 5).rc).toBe(6);
    expect(pick(lines, 'handle', 6).rc).toBe(2);
    expect(pick(lines, 'index').value).toBe(3);
  });

  it('MIG device handles answer identity, memory and instance queries; GPU-only queries are not supported', async () => {
    const lines = await runDriver(
      ['init', 'uuid', 'mig:0:1', 'name', 'mig:0:1', 'memory', 'mig:0:0', 'memory_v2', 'mig:0:0', 'is_mig', 'mig:0:0',
        'gi', 'mig:0:1', 'ci', 'mig:0:1', 'parent', 'mig:0:1', 'uuid', '0', 'temp', 'mig:0:0', 'gi', '0',
        'handle', 'uuid:MIG-8e7d6c5b-4a39-5f28-8d1c-0b9a8f7e6d51', 'handle', 'mig:0:1', 'procs', 'mig:0:0', 'procs', 'mig:0:1'],
      { scenarioPath: presetPath('a100-mig') },
    );
    expect(pick(lines, 'uuid', 0).value).toBe('MIG-8e7d6c5b-4a39-5f28-8d1c-0b9a8f7e6d51');
    expect(pick(lines, 'name').value).toBe('NVIDIA A100-SXM4-80GB MIG 3g.40gb');
    const MiB = 2 ** 20;
    expect(pick(lines, 'memory').value).toEqual({ total: 40192 * MiB, used: 2048 * MiB, free: (40192 - 2048) * MiB });
    expect(pick(lines, 'memory_v2').value).toMatchObject({ total: 40192 * MiB, reserved: 0, used: 2048 * MiB });
    expect(pick(lines, 'is_mig').value).toBe(1);
    expect(pick(lines, 'gi', 0).value).toBe(2);
    expect(pick(lines, 'ci').value).toBe(0);
    expect(pick(lines, 'parent').value).toBe(pick(lines, 'uuid', 1).value);
    expect(pick(lines, 'temp').rc).toBe(3);
    expect(pick(lines, 'gi', 1).rc).toBe(3);
    expect(pick(lines, 'handle', 0).value).toBe(pick(lines, 'handle', 1).value);
    expect(pick(lines, 'procs', 0).value).toEqual([{ pid: 4242, used: 2 ** 31, gi: 1, ci: 0 }]);
    expect(pick(lines, 'procs', 1).value).toEqual([]);
  });

  it('fans, unsupported functions and threshold types follow the scenario', async () => {
    const scenarioPath = writeScenario({
      preset: 'h200',
      gpus: [
        {
          fanSpeedPercent: 45,
          fanCount: 2,
          temperatureSlowdownCelsius: 'unsupported',
          unsupported: ['nvmlDeviceGetPowerUsage', 'nvmlDeviceGetEccMode'],
          eccCurrent: false,
          performanceState: 'P2',
          clockEventReasons: 0x44n,
        },
      ],
    });
    const lines = await runDriver(
      ['init', 'fan', '0', 'num_fans', '0', 'threshold', '0', '1', 'threshold', '0', '0', 'threshold', '0', '42',
        'power', '0', 'ecc_mode', '0', 'pstate', '0', 'clock_reasons', '0', 'temp', '0'],
      { scenarioPath },
    );
    expect(pick(lines, 'fan').value).toBe(45);
    expect(pick(lines, 'num_fans').value).toBe(2);
    expect(pick(lines, 'threshold', 0).rc).toBe(3);
    expect(pick(lines, 'threshold', 1).value).toBe(95);
    expect(pick(lines, 'threshold', 2).rc).toBe(2);
    expect(pick(lines, 'power').rc).toBe(3);
    expect(pick(lines, 'ecc_mode').rc).toBe(3);
    expect(pick(lines, 'pstate').value).toBe(2);
    expect(pick(lines, 'clock_reasons').value).toBe(0x44);
    expect(pick(lines, 'temp').value).toBe(41);
  });

  it('a broken scenario makes nvmlInit_v2 fail and gpuSimDescribe name the error', async () => {
    const dir = writeScenario({ preset: 'h200' }).replace(/\/[^/]+$/, '');
    const path = `${dir}/broken.ini`;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path, '[gpu 0]\nname = X\ntemperatur_c = 3\n');
    const lines = await runDriver(['describe', 'init', 'cu_init'], { scenarioPath: path });
    const described = pick(lines, 'describe').value as { error: string };
    expect(described.error).toContain(`${path}:3: unknown key 'temperatur_c' in [gpu 0]`);
    expect(pick(lines, 'init').rc).toBe(999);
    expect(pick(lines, 'cu_init').rc).toBe(999);
  });
});

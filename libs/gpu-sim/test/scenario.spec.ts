import { readFileSync, statSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { PRESET_NAMES, presetPath, renderScenario, updateScenario, writeScenario } from '@app/gpu-sim';

describe('renderScenario', () => {
  it('renders presets, sections, units, booleans, hex masks and lists', () => {
    const text = renderScenario({
      preset: 'h100x8',
      system: { driverVersion: '580.1', cudaDriverVersion: 12080, gpuCount: 4 },
      gpus: [
        { index: 3, migCurrent: true, migDevices: [{ index: 1, uuid: 'MIG-00000000-0000-0000-0000-000000000001', gpuInstanceId: 2 }] },
        {
          index: 0,
          name: 'NVIDIA  #1',
          memoryTotalBytes: '80GiB',
          temperatureShutdownCelsius: 'unsupported',
          clockEventReasons: 0x44n,
          eccCurrent: false,
          processes: [{ pid: 7, usedMemoryBytes: 1024 }, { pid: 8, usedMemoryBytes: '1MiB', gpuInstanceId: 1, computeInstanceId: 0 }],
          unsupported: ['nvmlDeviceGetFanSpeed', 'nvmlDeviceGetNumFans'],
        },
      ],
      faults: [{ function: ['nvmlDeviceGetTemperature', 'nvmlDeviceGetPowerUsage'], gpu: 2, returnCode: 15, afterCalls: 3, calls: 2 }],
      cudaFaults: [{ function: 'cuMemcpyDtoH_v2', corruptCopy: true, fromMs: 100.4 }],
      xidEvents: [{ gpu: 1, xid: 79, atMs: 500, count: 3, intervalMs: 100 }],
    });
    expect(text).toBe(
      [
        '# gpu-sim scenario',
        'preset = h100x8',
        '',
        '[system]',
        'driver_version = 580.1',
        'cuda_driver_version = 12080',
        'gpu_count = 4',
        '',
        '[gpu 0]',
        'name = "NVIDIA  #1"',
        'memory_total = 80GiB',
        'temperature_shutdown_c = unsupported',
        'clock_event_reasons = 0x44',
        'ecc_current = no',
        'processes = 7:1024, 8:1MiB:1:0',
        'unsupported = nvmlDeviceGetFanSpeed, nvmlDeviceGetNumFans',
        '',
        '[gpu 3]',
        'mig_current = yes',
        '',
        '[gpu 3 mig 1]',
        'uuid = MIG-00000000-0000-0000-0000-000000000001',
        'gpu_instance_id = 2',
        '',
        '[fault]',
        'function = nvmlDeviceGetTemperature, nvmlDeviceGetPowerUsage',
        'gpu = 2',
        'return = 15',
        'after_calls = 3',
        'calls = 2',
        '',
        '[cuda_fault]',
        'function = cuMemcpyDtoH_v2',
        'from_ms = 100',
        'corrupt_copy = yes',
        '',
        '[xid]',
        'gpu = 1',
        'xid = 79',
        'at_ms = 500',
        'count = 3',
        'interval_ms = 100',
        '',
      ].join('\n'),
    );
  });

  it('refuses values that would break the line format', () => {
    expect(() => renderScenario({ gpus: [{ name: 'a\nb' }] })).toThrow(/single line/);
  });
});

describe('scenario files', () => {
  it('writeScenario writes a new file; updateScenario replaces it atomically', () => {
    const path = writeScenario({ preset: 'h200' });
    expect(readFileSync(path, 'utf8')).toContain('preset = h200');
    const before = statSync(path).ino;
    updateScenario(path, { preset: 'empty' });
    expect(readFileSync(path, 'utf8')).toContain('preset = empty');
    expect(statSync(path).ino).not.toBe(before);
  });

  it('every preset has its file', () => {
    for (const name of PRESET_NAMES) expect(readFileSync(presetPath(name), 'utf8')).toMatch(/^# /);
  });
});

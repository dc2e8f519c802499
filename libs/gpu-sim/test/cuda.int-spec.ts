import { beforeAll, describe, expect, it } from 'vitest';

import { ensureSimBuilt, presetPath, writeScenario } from '@app/gpu-sim';

import { pick, runDriver } from './driver.js';

beforeAll(() => {
  ensureSimBuilt();
});

describe('CUDA driver', () => {
  it('every call before cuInit answers CUDA_ERROR_NOT_INITIALIZED; version and error texts work anyway', async () => {
    const lines = await runDriver(['cu_count', 'cu_get', '0', 'cu_name', '0', 'cu_version', 'cu_error_name', '3', 'cu_init', 'cu_count']);
    expect(pick(lines, 'cu_count', 0).rc).toBe(3);
    expect(pick(lines, 'cu_get').rc).toBe(3);
    expect(pick(lines, 'cu_name').rc).toBe(3);
    expect(pick(lines, 'cu_version')).toMatchObject({ rc: 0, value: 13000 });
    expect(pick(lines, 'cu_error_name')).toMatchObject({ rc: 0, value: 'CUDA_ERROR_NOT_INITIALIZED' });
    expect(pick(lines, 'cu_init').rc).toBe(0);
    expect(pick(lines, 'cu_count', 1).value).toBe(1);
  });

  it('error names and texts are the driver ones; unknown codes answer CUDA_ERROR_INVALID_VALUE', async () => {
    const codes = [0, 1, 2, 3, 4, 46, 100, 101, 201, 304, 700, 803, 999];
    const lines = await runDriver([...codes.flatMap((c) => ['cu_error_name', `${c}`, 'cu_error_string', `${c}`]), 'cu_error_name', '4242']);
    const names = codes.map((_, i) => pick(lines, 'cu_error_name', i).value);
    const texts = codes.map((_, i) => pick(lines, 'cu_error_string', i).value);
    expect(names).toEqual([
      'CUDA_SUCCESS', 'CUDA_ERROR_INVALID_VALUE', 'CUDA_ERROR_OUT_OF_MEMORY', 'CUDA_ERROR_NOT_INITIALIZED',
      'CUDA_ERROR_DEINITIALIZED', 'CUDA_ERROR_DEVICE_UNAVAILABLE', 'CUDA_ERROR_NO_DEVICE', 'CUDA_ERROR_INVALID_DEVICE',
      'CUDA_ERROR_INVALID_CONTEXT', 'CUDA_ERROR_OPERATING_SYSTEM', 'CUDA_ERROR_ILLEGAL_ADDRESS',
      'CUDA_ERROR_SYSTEM_DRIVER_MISMATCH', 'CUDA_ERROR_UNKNOWN',
    ]);
    expect(texts[0]).toBe('no error');
    expect(texts[6]).toBe('no CUDA-capable device is detected');
    expect(texts[12]).toBe('unknown error');
    expect(pick(lines, 'cu_error_name', codes.length)).toMatchObject({ rc: 1, value: null });
  });

  it('device memory really holds bytes: alloc, memset, copies both ways, free', async () => {
    const lines = await runDriver(['cu_init', 'cu_smoke', '0', '1', 'cu_smoke', '0', '1048576', 'cu_smoke', '0', '67108864', 'cu_ctx'], {
      scenarioPath: presetPath('h100x8'),
    });
    for (let n = 0; n < 3; n++) expect(pick(lines, 'cu_smoke', n)).toMatchObject({ rc: 0, stage: 'done', value: { mismatches: 0 } });
    expect(pick(lines, 'cu_ctx').value).toBe('set');
  });

  it('allocation needs a current context and fits in the device memory', async () => {
    const scenarioPath = writeScenario({ preset: 'h200', gpus: [{ memoryTotalBytes: '2GiB', memoryReservedBytes: '512MiB' }] });
    const lines = await runDriver(
      ['cu_init', 'cu_alloc_raw', '4096', 'cu_mem', '0', 'cu_alloc', '0', '2147483648', 'cu_alloc', '0', '1073741824', 'cu_alloc', '0', '629145600', 'cu_alloc', '0', '536870912'],
      { scenarioPath },
    );
    expect(pick(lines, 'cu_alloc_raw').rc).toBe(201);
    expect(pick(lines, 'cu_mem').value).toBe(1.5 * 2 ** 30);
    expect(pick(lines, 'cu_alloc', 0).rc).toBe(2);
    expect(pick(lines, 'cu_alloc', 1).rc).toBe(0);
    expect(pick(lines, 'cu_alloc', 2).rc).toBe(2); // 1 GiB of 1.5 GiB is taken: 600 MiB no longer fit
    expect(pick(lines, 'cu_alloc', 3).rc).toBe(0); // 512 MiB still do
  });

  it('checks its arguments like the driver', async () => {
    const lines = await runDriver(['cu_init', '1', 'cu_init', 'cu_get', '1', 'cu_name', '7', 'cu_attr', '0', '123456', 'cu_attr', '0', '16']);
    expect(pick(lines, 'cu_init', 0).rc).toBe(1);
    expect(pick(lines, 'cu_init', 1).rc).toBe(0);
    expect(pick(lines, 'cu_get').rc).toBe(101);
    expect(pick(lines, 'cu_name').rc).toBe(101);
    expect(pick(lines, 'cu_attr', 0).rc).toBe(1);
    expect(pick(lines, 'cu_attr', 1).value).toBe(132);
  });
});

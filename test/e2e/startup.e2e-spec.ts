import { cpSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SimScenario, simEnv, simPaths, writeScenario } from '@app/gpu-sim';
import { describe, expect, it } from 'vitest';
import { getJson, ROOT, type RunningService, startService, startSimService } from '../support/service.js';

/** Runs the service to its exit and returns the exit code, elapsed time and fatal lines. */
async function refused(env: Record<string, string | undefined>): Promise<{ code: number | null; ms: number; fatal: Array<Record<string, unknown>>; service: RunningService }> {
  const started = Date.now();
  const service = await startService({ env, waitForReady: false });
  const { code } = await service.exited;
  return { code, ms: Date.now() - started, fatal: service.records().filter((r) => r.level === 60), service };
}

function simEnvFor(scenario: SimScenario, variant: 'default' | 'legacy' = 'default'): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'gpu-startup-'));
  return { ...simEnv({ scenarioPath: writeScenario(scenario, dir), countersPath: join(dir, 'counters.bin'), variant }) };
}

describe('start-up on simulated GPUs', () => {
  it('passes on an H200 and logs one summary line with versions, GPUs and the smoke test', async () => {
    const service = await startSimService({ scenario: { preset: 'h200' } });
    try {
      const summary = service.records().filter((r) => typeof r.msg === 'string' && (r.msg as string).startsWith('GPU check passed'));
      expect(summary).toHaveLength(1);
      expect(summary[0]).toMatchObject({
        level: 30,
        driverVersion: '580.159.04',
        nvmlVersion: '13.580.159.04',
        cudaVersion: '13.0',
        simulated: true,
        gpus: [
          {
            index: 0,
            uuid: 'GPU-a7edcf28-a056-2c49-34b6-5db71afeea6a',
            name: 'NVIDIA H200',
            memoryTotalMiB: 143771,
            smokeTestMs: expect.any(Number),
          },
        ],
        timings: { nvmlInitMs: expect.any(Number), smokeTestMs: expect.any(Number), totalMs: expect.any(Number) },
      });
      expect(summary[0]!.msg).toContain('CUDA smoke test passed');
      const startup = await getJson(service.baseUrl, '/health/startup');
      expect(startup.status).toBe(200);
      expect(startup.headers.get('x-gpu-simulated')).toBe('h200');
      // No warning or error lines on a healthy start.
      expect(service.records().filter((r) => (r.level as number) >= 40)).toEqual([]);
    } finally {
      await service.stop();
    }
  });

  it('S04: refuses a driver/library version mismatch within 5 s with one fatal line, without retrying', async () => {
    const env = simEnvFor({ preset: 'h200', faults: [{ function: 'nvmlInit_v2', returnCode: 18 }] });
    const { code, ms, fatal, service } = await refused(env);
    expect(code).toBe(11);
    expect(ms).toBeLessThan(5000);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({
      reason: 'nvml_version_mismatch',
      exitCode: 11,
      code: 18,
      codeName: 'NVML_ERROR_LIB_RM_VERSION_MISMATCH',
      fn: 'nvmlInit_v2',
    });
    expect(fatal[0]!.hint).toMatch(/reboot the host or reload the nvidia kernel modules/);
    expect(service.lines().filter((l) => l.includes('"level":60'))).toHaveLength(1);
    const { readSimCounters } = await import('@app/gpu-sim');
    expect(readSimCounters(env.GPU_SIM_COUNTERS!).nvmlInit_v2?.calls).toBe(1);
  });

  it('S08a: loads libnvidia-ml.so.1 through the loader when only the versioned name exists', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gpu-lib-'));
    cpSync(simPaths().nvml, join(dir, 'libnvidia-ml.so.1'));
    cpSync(simPaths().cuda, join(dir, 'libcuda.so.1'));
    const env = simEnvFor({ preset: 'h200' });
    const service = await startService({
      env: { GPU_SIM_SCENARIO: env.GPU_SIM_SCENARIO, LD_LIBRARY_PATH: dir },
    });
    try {
      expect((await getJson(service.baseUrl, '/health/ready')).status).toBe(200);
    } finally {
      await service.stop();
    }
  });

  it('S08b/S09b: with no NVML anywhere exits 10 within 2 s naming what was tried and how to fix it', async () => {
    const { code, ms, fatal } = await refused({ NVIDIA_VISIBLE_DEVICES: 'void' });
    expect(code).toBe(10);
    expect(ms).toBeLessThan(2000);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ reason: 'nvml_library_not_found', exitCode: 10, codeName: 'NVML_ERROR_LIBRARY_NOT_FOUND' });
    expect(fatal[0]!.msg).toContain('tried libnvidia-ml.so.1 (Failed to load shared library');
    expect(fatal[0]!.hint).toMatch(/--gpus/);
    expect(fatal[0]!.hint).toMatch(/NVIDIA_VISIBLE_DEVICES=void/);
  });

  it('S08: never uses a CUDA toolkit stubs/ copy of the library', async () => {
    const stubs = join(mkdtempSync(join(tmpdir(), 'cuda-')), 'lib64', 'stubs');
    mkdirSync(stubs, { recursive: true });
    cpSync(simPaths().nvml, join(stubs, 'libnvidia-ml.so.1'));
    const { code, fatal } = await refused({ LD_LIBRARY_PATH: stubs });
    expect(code).toBe(10);
    expect(fatal[0]!.msg).toContain('refused: a CUDA toolkit stub library, not the driver');
    const explicit = await refused({ NVML_LIBRARY_PATH: join(stubs, 'libnvidia-ml.so.1') });
    expect(explicit.code).toBe(10);
    expect(explicit.fatal[0]!.msg).toContain(`${join(stubs, 'libnvidia-ml.so.1')} (refused`);
  });

  it("refuses with NVML_ERROR_DRIVER_NOT_LOADED on NVIDIA's own library without a driver", async () => {
    const { code, fatal } = await refused({ NVML_LIBRARY_PATH: join(ROOT, '.tools/nvidia/lib/libnvidia-ml.so.1') });
    expect(code).toBe(11);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ reason: 'nvml_driver_not_loaded', code: 9, codeName: 'NVML_ERROR_DRIVER_NOT_LOADED', fn: 'nvmlInit_v2' });
  });

  it('S09a: NVIDIA_VISIBLE_DEVICES=none gives the driver without devices: no_gpu_visible', async () => {
    const { code, fatal } = await refused({ ...simEnvFor({ preset: 'h200' }), NVIDIA_VISIBLE_DEVICES: 'none' });
    expect(code).toBe(12);
    expect(fatal[0]).toMatchObject({ reason: 'no_gpu_visible' });
    expect(fatal[0]!.msg).toContain('NVIDIA_VISIBLE_DEVICES=none');
  });

  it('reports every unmet requirement together in one line', async () => {
    const { code, fatal } = await refused({
      ...simEnvFor({ preset: 'h200' }),
      GPU_MIN_MEMORY_GIB: '200',
      GPU_MIN_COUNT: '2',
      GPU_MIN_COMPUTE_CAPABILITY: '10.0',
    });
    expect(code).toBe(13);
    expect(fatal).toHaveLength(1);
    const problems = fatal[0]!.problems as Array<{ reason: string; detail: string }>;
    expect(problems.map((p) => p.reason).toSorted()).toEqual([
      'insufficient_compute_capability',
      'insufficient_gpu_count',
      'insufficient_gpu_memory',
    ]);
    expect(problems.find((p) => p.reason === 'insufficient_gpu_memory')!.detail).toBe(
      'GPU 0 (NVIDIA H200) has 143771 MiB, GPU_MIN_MEMORY_GIB requires 204800 MiB',
    );
  });

  it('S03: a unified-memory GPU without memory info starts, noted once; refused only when memory info is required', async () => {
    const service = await startSimService({ scenario: { preset: 'gh200' } });
    try {
      const notes = service.records().filter((r) => String(r.msg).includes('does not report its memory'));
      expect(notes).toHaveLength(1);
      expect(notes[0]!.msg).toContain('NVIDIA GH200 480GB');
      expect((await getJson(service.baseUrl, '/health/ready')).status).toBe(200);
      const gpu = (await getJson<{ gpus: Array<Record<string, unknown>> }>(service.baseUrl, '/gpus')).body.gpus[0]!;
      expect(gpu.memoryTotalBytes).toBeNull();
      expect(gpu.unavailable).toMatchObject({ memoryTotalBytes: { reason: 'not_supported', nvmlCode: 3 } });
    } finally {
      await service.stop();
    }
    const { code, fatal } = await refused({ ...simEnvFor({ preset: 'gh200' }), GPU_REQUIRE_MEMORY_INFO: 'true' });
    expect(code).toBe(13);
    expect(fatal[0]).toMatchObject({ reason: 'gpu_memory_unknown' });
  });

  it('refuses when the CUDA smoke test reads back corrupted memory, or allocation fails', async () => {
    const corrupt = await refused(simEnvFor({ preset: 'h200', cudaFaults: [{ function: 'cuMemcpyDtoH_v2', corruptCopy: true }] }));
    expect(corrupt.code).toBe(14);
    expect(corrupt.fatal[0]).toMatchObject({ reason: 'cuda_smoke_test_failed', codeName: 'CUDA_SMOKE_TEST_MISMATCH' });
    const oom = await refused(simEnvFor({ preset: 'h200', cudaFaults: [{ function: 'cuMemAlloc_v2', returnCode: 2 }] }));
    expect(oom.code).toBe(14);
    expect(oom.fatal[0]).toMatchObject({ reason: 'cuda_smoke_test_failed', code: 2, codeName: 'CUDA_ERROR_OUT_OF_MEMORY', fn: 'cuMemAlloc_v2' });
  });

  it('skips the CUDA smoke test when disabled', async () => {
    const service = await startSimService({
      scenario: { preset: 'h200', cudaFaults: [{ function: 'cuMemAlloc_v2', returnCode: 2 }] },
      env: { GPU_CUDA_SMOKE_TEST: 'false' },
    });
    try {
      const summary = service.records().find((r) => String(r.msg).startsWith('GPU check passed'));
      expect(summary!.msg).toContain('CUDA smoke test disabled');
    } finally {
      await service.stop();
    }
  });

  it('gives up on a hung start-up call after GPU_STARTUP_TIMEOUT_MS', async () => {
    const { code, ms, fatal } = await refused({
      ...simEnvFor({ preset: 'h200', faults: [{ function: 'nvmlDeviceGetCount_v2', delayMs: 30_000 }] }),
      GPU_STARTUP_TIMEOUT_MS: '500',
    });
    expect(code).toBe(15);
    expect(ms).toBeLessThan(5000);
    expect(fatal[0]).toMatchObject({ reason: 'startup_timeout' });
  });

  it('refuses invalid configuration before anything else, naming variable and rule', async () => {
    const { code, fatal } = await refused({ PORT: 'eighty', GPU_MIN_MEMORY_GIB: 'lots' });
    expect(code).toBe(3);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({
      reason: 'config_invalid',
      issues: [
        { variable: 'PORT', rule: 'must be a whole number from 1 to 65535' },
        { variable: 'GPU_MIN_MEMORY_GIB', rule: 'must be a number from 0 to 1000000' },
      ],
    });
  });

  it('falls back to the older NVML symbols on an old driver', async () => {
    const service = await startService({ env: simEnvFor({ preset: 'h200' }, 'legacy') });
    try {
      const gpus = await getJson<{ gpus: Array<Record<string, unknown>> }>(service.baseUrl, '/gpus');
      expect(gpus.status).toBe(200);
      const gpu = gpus.body.gpus[0]!;
      // v1 memory counts the reserved memory as used and cannot split it out.
      expect(gpu.memoryUsedBytes).toBe(644939776);
      expect(gpu.memoryReservedBytes).toBeNull();
      expect(gpu.unavailable).toMatchObject({ memoryReservedBytes: { reason: 'function_not_found', nvmlCode: 13 } });
      expect(gpu.clockEventReasons).toBe(1);
    } finally {
      await service.stop();
    }
  });
});

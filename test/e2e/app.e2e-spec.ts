import 'reflect-metadata';
import { CudaClient } from '@app/cuda';
import { FakeCudaClient } from '@app/cuda/testing';
import { NvmlClient } from '@app/nvml';
import { FakeNvmlClient, type NvmlPresetName } from '@app/nvml/testing';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AppModule } from '../../src/app.module.js';
import { configureApp, FASTIFY_OPTIONS } from '../../src/app.setup.js';
import { StartupRefusedError } from '../../src/gpu/gpu.startup.js';
import { rootLogger } from '../../src/logging/root-logger.js';

// The real AppModule over HTTP, with only the two driver boundaries replaced by the TypeScript
// fakes, comparing whole response bodies.

const H200 = 'GPU-a7edcf28-a056-2c49-34b6-5db71afeea6a';
const ENV = { GPU_POLL_INTERVAL_MS: '100', GPU_SNAPSHOT_MAX_AGE_MS: '200', NVML_CALL_TIMEOUT_MS: '200' };
let app: NestFastifyApplication | null = null;

beforeAll(() => {
  rootLogger({ logLevel: 'silent', logFormat: 'json' });
});

afterEach(async () => {
  await app?.close();
  app = null;
  for (const key of Object.keys(process.env)) if (key.startsWith('GPU_')) delete process.env[key];
});

async function boot(preset: NvmlPresetName, env: Record<string, string> = {}, nvml = new FakeNvmlClient({ preset })): Promise<{ app: NestFastifyApplication; nvml: FakeNvmlClient }> {
  Object.assign(process.env, ENV, env);
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(NvmlClient)
    .useValue(nvml)
    .overrideProvider(CudaClient)
    .useValue(new FakeCudaClient({ preset }))
    .compile();
  app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(FASTIFY_OPTIONS), { bufferLogs: true });
  configureApp(app, { swaggerEnabled: true });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return { app, nvml };
}

async function get(path: string): Promise<{ status: number; body: unknown; headers: Record<string, unknown> }> {
  const res = await app!.inject({ method: 'GET', url: path });
  return { status: res.statusCode, body: res.json(), headers: res.headers };
}

const isoDate = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

const h200Gpu = {
  uuid: H200,
  index: 0,
  name: 'NVIDIA H200',
  serial: '1654024077256',
  pciBusId: '00000000:00:06.0',
  computeCapability: '9.0',
  status: 'up',
  reasons: [],
  nvmlCode: null,
  nvmlName: null,
  sampledAt: isoDate,
  ageMs: expect.any(Number),
  memoryTotalBytes: 150754820096,
  memoryReservedBytes: 644939776,
  memoryUsedBytes: 0,
  memoryFreeBytes: 150109880320,
  temperatureCelsius: 41,
  temperatureSlowdownCelsius: 89,
  temperatureShutdownCelsius: 95,
  powerUsageMilliwatts: 128458,
  powerLimitMilliwatts: 700000,
  energyConsumedMillijoules: 2254251,
  utilizationGpuPercent: 0,
  utilizationMemoryPercent: 0,
  performanceState: 0,
  clockEventReasons: 1,
  clockEventReasonNames: ['gpu_idle'],
  smClockMhz: 1980,
  memoryClockMhz: 3201,
  fanSpeedPercent: null,
  eccEnabled: true,
  eccVolatileUncorrected: 0,
  eccVolatileCorrected: 0,
  eccAggregateUncorrected: 0,
  remappedRowsCorrectable: 0,
  remappedRowsUncorrectable: 0,
  remappedRowsPending: false,
  remappedRowsFailure: false,
  processes: [],
  mig: { enabled: false, devices: [] },
  unavailable: { fanSpeedPercent: { reason: 'not_supported', nvmlCode: 3, nvmlName: 'NVML_ERROR_NOT_SUPPORTED' } },
};

describe('the application over HTTP with fake drivers', () => {
  it('GET /gpus describes the H200 completely', async () => {
    await boot('h200');
    const res = await get('/gpus');
    expect(res.status).toBe(200);
    expect(res.headers['x-gpu-simulated']).toBe('h200');
    expect(res.body).toEqual({
      simulated: { preset: 'h200', scenario: null },
      system: { driverVersion: '580.159.04', nvmlVersion: '13.580.159.04', cudaDriverVersion: '13.0' },
      snapshotAgeMs: expect.any(Number),
      gpus: [h200Gpu],
    });
    expect(await get(`/gpus/${H200}`)).toMatchObject({ status: 200, body: h200Gpu });
  });

  it('GET /health/ready is 200 with the Terminus body', async () => {
    await boot('h200');
    const gpu = {
      status: 'up',
      simulated: true,
      snapshotAgeMs: expect.any(Number),
      healthy: 1,
      required: 1,
      total: 1,
      gpus: { [H200]: { uuid: H200, index: 0, name: 'NVIDIA H200', status: 'up', reasons: [], nvmlCode: null, nvmlName: null, sampledAt: isoDate } },
    };
    const checks = {
      shutdown: { status: 'up' },
      gpu,
      heap: { status: 'up', usedBytes: expect.any(Number), limitBytes: expect.any(Number), heapSizeLimitBytes: expect.any(Number) },
      disk: { status: 'up' },
    };
    const res = await get('/health/ready');
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-cache, no-store, must-revalidate');
    expect(res.body).toEqual({ status: 'ok', info: checks, error: {}, details: checks });
  });

  it('GET /health/ready is 503 naming the lost GPU and its NVML code', async () => {
    const { nvml } = await boot('h200');
    nvml.loseGpu(H200);
    await new Promise((r) => setTimeout(r, 400));
    const res = await get('/health/ready');
    expect(res.status).toBe(503);
    const gpu = {
      status: 'down',
      reason: 'insufficient_healthy_gpus',
      simulated: true,
      snapshotAgeMs: expect.any(Number),
      healthy: 0,
      required: 1,
      total: 1,
      gpus: {
        [H200]: {
          uuid: H200,
          index: 0,
          name: 'NVIDIA H200',
          status: 'lost',
          reasons: [
            {
              reason: 'gpu_lost',
              effect: 'fail',
              since: isoDate,
              detail: expect.stringContaining('NVML_ERROR_GPU_IS_LOST (15)'),
              nvmlCode: 15,
              nvmlName: 'NVML_ERROR_GPU_IS_LOST',
              xid: null,
            },
          ],
          nvmlCode: 15,
          nvmlName: 'NVML_ERROR_GPU_IS_LOST',
          sampledAt: isoDate,
        },
      },
    };
    expect(res.body).toEqual({
      status: 'error',
      info: expect.objectContaining({ shutdown: { status: 'up' } }),
      error: { gpu },
      details: expect.objectContaining({ gpu }),
    });
  });

  it('S13: a sampling bug (a plain TypeError) is a Terminus 503, never a 500 or a hidden down', async () => {
    const nvml = new FakeNvmlClient({ preset: 'h200' });
    await boot('h200', {}, nvml);
    const sample = nvml.sampleDevice.bind(nvml);
    let broken = false;
    nvml.sampleDevice = async (uuid, options) => {
      if (broken) throw new TypeError("Cannot read properties of undefined (reading 'readUInt32LE')");
      return sample(uuid, options);
    };
    broken = true;
    await new Promise((r) => setTimeout(r, 400));
    const res = await get('/health/ready');
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({
      status: 'error',
      error: { gpu: { status: 'down', gpus: { [H200]: { status: 'down', reasons: [expect.objectContaining({ reason: 'nvml_error', detail: expect.stringContaining('TypeError') })] } } } },
    });
    expect((await get('/gpus')).status).toBe(200);
  });

  it('refuses to start when a requirement is not met', async () => {
    await expect(boot('h200', { GPU_MIN_MEMORY_GIB: '200' })).rejects.toSatisfy((error: unknown) => {
      expect(error).toBeInstanceOf(StartupRefusedError);
      expect((error as StartupRefusedError).exitCode).toBe(13);
      expect((error as StartupRefusedError).problems).toEqual([
        {
          reason: 'insufficient_gpu_memory',
          gpu: { index: 0, uuid: H200, name: 'NVIDIA H200' },
          detail: 'GPU 0 (NVIDIA H200) has 143771 MiB, GPU_MIN_MEMORY_GIB requires 204800 MiB',
        },
      ]);
      return true;
    });
  });

  it('lists the routes in the OpenAPI document', async () => {
    await boot('h200');
    const doc = (await get('/docs-json')).body as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).toSorted()).toEqual(
      expect.arrayContaining(['/gpus', '/gpus/{uuid}', '/health', '/health/live', '/health/ready', '/health/startup', '/health/transitions']),
    );
  });
});

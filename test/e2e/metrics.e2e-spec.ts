import 'reflect-metadata';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CudaClient } from '@app/cuda';
import { FakeCudaClient } from '@app/cuda/testing';
import { NvmlClient, NvmlReturn } from '@app/nvml';
import { FakeNvmlClient, type NvmlPresetName, nvmlPreset } from '@app/nvml/testing';
import { ConfigModule } from '@nestjs/config';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { ensureSimBuilt, readSimCounters, type SimScenario, simEnv, updateScenario, writeScenario } from '@app/gpu-sim';
import { Test } from '@nestjs/testing';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { gpuConfig, healthConfig, httpConfig } from '../../src/config/config.namespaces.js';
import { GpuMonitor } from '../../src/gpu/gpu.monitor.js';
import { DCGM_FIELDS } from '../../src/metrics/dcgm.fields.js';
import { MetricsModule } from '../../src/metrics/metrics.module.js';
import { type Exposition, parseExposition, samplesOf, valueOf } from '../../src/metrics/testing/exposition.js';
import { type RunningService, startService, waitFor } from '../support/service.js';

// Two tiers. In process: the real module graph on the TypeScript NVML and CUDA fakes (only those
// two providers are replaced), background sampling off so each test decides when the monitor
// samples. Over HTTP: the built service on the native GPU simulator.

const MiB = 2 ** 20;
const H200 = 'GPU-a7edcf28-a056-2c49-34b6-5db71afeea6a';

interface Running {
  app: NestFastifyApplication;
  nvml: FakeNvmlClient;
  monitor: GpuMonitor;
  scrape(): Promise<Exposition>;
}

let running: Running | null = null;

afterEach(async () => {
  await running?.app.close();
  running = null;
  vi.unstubAllEnvs();
});

async function start(preset: NvmlPresetName | FakeNvmlClient['preset'], env: Record<string, string> = {}): Promise<Running> {
  vi.stubEnv('GPU_POLL_INTERVAL_MS', '3600000');
  vi.stubEnv('GPU_SNAPSHOT_MAX_AGE_MS', '3600000');
  vi.stubEnv('METRICS_HOSTNAME', 'node-a');
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
  const nvml = new FakeNvmlClient({ preset });
  const moduleRef = await Test.createTestingModule({
    imports: [ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [httpConfig, gpuConfig, healthConfig] }), MetricsModule],
  })
    .overrideProvider(NvmlClient)
    .useValue(nvml)
    .overrideProvider(CudaClient)
    .useValue(new FakeCudaClient({ preset }))
    .compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  const scrape = async () => {
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    return parseExposition(res.body);
  };
  running = { app, nvml, monitor: app.get(GpuMonitor), scrape };
  return running;
}

const h200Labels = {
  gpu: '0',
  UUID: H200,
  pci_bus_id: '00000000:00:06.0',
  device: 'nvidia0',
  modelName: 'NVIDIA H200',
  Hostname: 'node-a',
};

describe('/metrics in process, on the NVML fake', () => {
  it('gives every DCGM field of an H200 with dcgm-exporter’s labels and units, and no fan series', async () => {
    const { scrape } = await start('h200');
    const m = await scrape();
    const labels = { ...h200Labels, DCGM_FI_DRIVER_VERSION: '580.159.04' };
    const dcgm = m.samples.filter((s) => s.name.startsWith('DCGM_FI_'));
    expect(Object.fromEntries(dcgm.map((s) => [s.name, s.value]))).toEqual({
      DCGM_FI_DEV_SM_CLOCK: 1980,
      DCGM_FI_DEV_MEM_CLOCK: 3201,
      DCGM_FI_DEV_CLOCKS_EVENT_REASONS: 1,
      DCGM_FI_DEV_GPU_TEMP: 41,
      DCGM_FI_DEV_SLOWDOWN_TEMP: 89,
      DCGM_FI_DEV_SHUTDOWN_TEMP: 95,
      DCGM_FI_DEV_POWER_USAGE: 128.458,
      DCGM_FI_DEV_ENFORCED_POWER_LIMIT: 700,
      DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION: 2254251,
      DCGM_FI_DEV_PSTATE: 0,
      DCGM_FI_DEV_GPU_UTIL: 0,
      DCGM_FI_DEV_MEM_COPY_UTIL: 0,
      DCGM_FI_DEV_FB_TOTAL: 143771,
      DCGM_FI_DEV_FB_FREE: 143155,
      DCGM_FI_DEV_FB_USED: 0,
      DCGM_FI_DEV_FB_RESERVED: 615,
      DCGM_FI_DEV_FB_USED_PERCENT: 0,
      DCGM_FI_DEV_ECC_CURRENT: 1,
      DCGM_FI_DEV_ECC_SBE_VOL_TOTAL: 0,
      DCGM_FI_DEV_ECC_DBE_VOL_TOTAL: 0,
      DCGM_FI_DEV_ECC_DBE_AGG_TOTAL: 0,
      DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS: 0,
      DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS: 0,
      DCGM_FI_DEV_ROW_REMAP_FAILURE: 0,
      DCGM_FI_DEV_ROW_REMAP_PENDING: 0,
      DCGM_FI_DEV_MIG_MODE: 0,
      DCGM_FI_DEV_XID_ERRORS: 0,
    });
    for (const s of dcgm) expect(s.labels).toEqual(labels);
    // The fan cannot be read on an H200: the family is declared, the GPU has no sample.
    expect(m.type.get('DCGM_FI_DEV_FAN_SPEED')).toBe('gauge');
    expect(samplesOf(m, 'DCGM_FI_DEV_FAN_SPEED')).toEqual([]);
    for (const field of DCGM_FIELDS) {
      expect(m.type.get(field.name)).toBe(field.type);
      expect(m.help.get(field.name)).toBe(field.help);
    }
  });

  it('leaves out the framebuffer of a GPU without dedicated memory (GH200) instead of writing 0', async () => {
    const { scrape } = await start('gh200', { GPU_MIN_MEMORY_GIB: '0' });
    const m = await scrape();
    for (const name of ['DCGM_FI_DEV_FB_TOTAL', 'DCGM_FI_DEV_FB_FREE', 'DCGM_FI_DEV_FB_USED', 'DCGM_FI_DEV_FB_RESERVED', 'DCGM_FI_DEV_FB_USED_PERCENT']) {
      expect(samplesOf(m, name), name).toEqual([]);
    }
    expect(samplesOf(m, 'DCGM_FI_DEV_GPU_TEMP')).toHaveLength(1);
  });

  it('leaves out utilization of a MIG-enabled GPU and reports its MIG mode', async () => {
    const { scrape } = await start('a100-mig');
    const m = await scrape();
    const modes = samplesOf(m, 'DCGM_FI_DEV_MIG_MODE').map((s) => ({ gpu: s.labels.gpu, mig: s.value }));
    const util = samplesOf(m, 'DCGM_FI_DEV_GPU_UTIL').map((s) => s.labels.gpu);
    for (const { gpu, mig } of modes) expect(util.includes(gpu), `GPU ${gpu} MIG ${mig}`).toBe(mig === 0);
    expect(modes.some(({ mig }) => mig === 1)).toBe(true);
  });

  it('converts used memory to whole MiB from the bytes NVML reports', async () => {
    const preset = nvmlPreset('h200');
    preset.gpus[0]!.memory = { totalBytes: 150754820096, reservedBytes: 644939776, usedBytes: 40960 * MiB + 12345 };
    const { scrape, monitor } = await start(preset);
    const readings = monitor.get(H200)!.sample!.readings;
    const m = await scrape();
    expect(valueOf(m, 'DCGM_FI_DEV_FB_USED')).toBe(Math.floor(readings.memoryUsedBytes! / MiB));
    expect(valueOf(m, 'DCGM_FI_DEV_FB_USED')).toBe(40960);
    expect(valueOf(m, 'DCGM_FI_DEV_FB_FREE')).toBe(Math.floor(readings.memoryFreeBytes! / MiB));
  });

  it('answers from the snapshot: a scrape makes no NVML call', async () => {
    const { scrape, nvml } = await start('h100x8', { GPU_MIN_MEMORY_GIB: '0' });
    await scrape();
    const before = nvml.counters().calls;
    for (let i = 0; i < 5; i++) await scrape();
    expect(nvml.counters().calls).toEqual(before);
  });

  it('reports a lost GPU: status lost, the finding, the NVML error, no readings, readiness check down', async () => {
    const { scrape, nvml, monitor } = await start('h200');
    nvml.loseGpu(H200);
    await monitor.refresh();
    const m = await scrape();
    expect(samplesOf(m, 'gpu_service_gpu_status').map((s) => [s.labels.status, s.value])).toEqual([
      ['up', 0],
      ['degraded', 0],
      ['down', 0],
      ['lost', 1],
    ]);
    expect(samplesOf(m, 'gpu_service_gpu_findings')).toEqual([
      { name: 'gpu_service_gpu_findings', labels: { ...h200Labels, reason: 'gpu_lost', effect: 'fail' }, value: 1 },
    ]);
    expect(m.samples.filter((s) => s.name.startsWith('DCGM_FI_DEV_') && s.name !== 'DCGM_FI_DEV_XID_ERRORS')).toEqual([]);
    const lost = samplesOf(m, 'gpu_service_nvml_errors_total', { code: '15', name: 'NVML_ERROR_GPU_IS_LOST' });
    expect(lost.length).toBeGreaterThan(0);
    expect(lost.every((s) => s.value > 0)).toBe(true);
    expect(valueOf(m, 'gpu_service_health_check_status', { check: 'gpu', status: 'down' })).toBe(1);
    expect(valueOf(m, 'gpu_service_health_check_status', { check: 'startup', status: 'up' })).toBe(1);
  });

  it('counts XID events per XID and shows the last XID as dcgm-exporter does', async () => {
    const { scrape, nvml, monitor } = await start('h200');
    const events = () => monitor.xidEventCounts().get(H200);
    nvml.emitXid(H200, 79);
    await vi.waitFor(() => expect(events()?.get(79)).toBe(1), { timeout: 5000 });
    let m = await scrape();
    expect(valueOf(m, 'DCGM_FI_DEV_XID_ERRORS')).toBe(79);
    expect(valueOf(m, 'gpu_service_xid_events_total', { xid: '79' })).toBe(1);
    expect(valueOf(m, 'gpu_service_gpu_findings', { reason: 'xid_critical' })).toBe(1);

    nvml.emitXid(H200, 13);
    await vi.waitFor(() => expect(events()?.get(13)).toBe(1), { timeout: 5000 });
    m = await scrape();
    expect(valueOf(m, 'DCGM_FI_DEV_XID_ERRORS')).toBe(13);
    expect(samplesOf(m, 'gpu_service_xid_events_total').map((s) => [s.labels.xid, s.value, s.labels.UUID])).toEqual([
      ['79', 1, H200],
      ['13', 1, H200],
    ]);
  });

  it('exposes NVML call latency per function as a histogram in seconds, matching the call counts', async () => {
    const { scrape, nvml } = await start('h200');
    const m = await scrape();
    expect(m.type.get('gpu_service_nvml_call_duration_seconds')).toBe('histogram');
    const calls = nvml.counters().calls;
    const fn = 'nvmlDeviceGetMemoryInfo_v2';
    expect(calls[fn]).toBeGreaterThan(0);
    expect(valueOf(m, 'gpu_service_nvml_call_duration_seconds_count', { function: fn })).toBe(calls[fn]);
    const buckets = samplesOf(m, 'gpu_service_nvml_call_duration_seconds_bucket', { function: fn });
    expect(buckets.map((b) => b.labels.le)).toEqual(['0.00001', '0.00005', '0.0001', '0.0005', '0.001', '0.005', '0.01', '0.05', '0.1', '0.5', '1', '5', '+Inf']);
    expect(buckets.at(-1)!.value).toBe(calls[fn]);
    // Not supported is an answer NVML gives, counted by code: the H200 has no fan.
    expect(valueOf(m, 'gpu_service_nvml_errors_total', { function: 'nvmlDeviceGetFanSpeed', code: String(NvmlReturn.NOT_SUPPORTED) })).toBeGreaterThan(0);
  });

  it('has the service’s state metrics and the process metrics', async () => {
    const { scrape } = await start('h200');
    const m = await scrape();
    expect(valueOf(m, 'gpu_service_simulated', { preset: 'h200' })).toBe(1);
    expect(valueOf(m, 'gpu_service_nvml_initialized')).toBe(1);
    expect(valueOf(m, 'gpu_service_nvml_reinitializations_total')).toBe(0);
    expect(valueOf(m, 'gpu_service_snapshot_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(valueOf(m, 'gpu_service_gpu_sample_age_seconds', { UUID: H200 })).toBeGreaterThanOrEqual(0);
    expect(samplesOf(m, 'gpu_service_health_check_status', { status: 'up' }).map((s) => [s.labels.check, s.value])).toEqual([
      ['event-loop', 1],
      ['heap', 1],
      ['nvml', 1],
      ['shutdown', 1],
      ['gpu', 1],
      ['disk', 1],
      ['startup', 1],
    ]);
    expect(samplesOf(m, 'process_cpu_seconds_total')).toHaveLength(1);
    expect(samplesOf(m, 'nodejs_heap_size_used_bytes')).toHaveLength(1);
  });
});

// ---- over HTTP, on the GPU simulator ------------------------------------------------------------

interface SimRun {
  service: RunningService;
  scenarioPath: string;
  countersPath: string;
  scrape(): Promise<Exposition>;
}

let sim: SimRun | null = null;
/** No background sampling and no snapshot expiry: the readings stay those of the start-up check. */
const FROZEN = { GPU_POLL_INTERVAL_MS: '3600000', GPU_SNAPSHOT_MAX_AGE_MS: '3600000' };

beforeAll(() => {
  ensureSimBuilt();
});

afterEach(async () => {
  await sim?.service.stop('SIGKILL');
  sim = null;
});

async function startSim(scenario: SimScenario, env: Record<string, string> = {}): Promise<SimRun> {
  const dir = mkdtempSync(join(tmpdir(), 'metrics-e2e-'));
  const scenarioPath = writeScenario(scenario, dir);
  const countersPath = join(dir, 'counters');
  const service = await startService({ env: { ...simEnv({ scenarioPath, countersPath }), METRICS_HOSTNAME: 'e2e-node', ...env } });
  const scrape = async () => {
    const res = await fetch(`${service.baseUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    return parseExposition(await res.text());
  };
  sim = { service, scenarioPath, countersPath, scrape };
  return sim;
}

type GpuJson = Record<string, number | string | null> & { uuid: string; index: number; name: string; pciBusId: string };
async function gpusOf(run: SimRun): Promise<{ system: { driverVersion: string }; gpus: GpuJson[] }> {
  const res = await fetch(`${run.service.baseUrl}/gpus`);
  expect(res.status).toBe(200);
  return (await res.json()) as { system: { driverVersion: string }; gpus: GpuJson[] };
}

/** The URL of a request log line (pino-http's `req.url`). */
function urlOf(record: Record<string, unknown>): string | undefined {
  return (record.req as { url?: string } | undefined)?.url;
}

/** Calls per NVML and CUDA function, but for the XID watch thread's wait, which loops scrape or not. */
function callsButEventWait(counters: ReturnType<typeof readSimCounters>): Record<string, number> {
  return Object.fromEntries(Object.entries(counters).filter(([fn]) => fn !== 'nvmlEventSetWait_v2').map(([fn, v]) => [fn, v.calls]));
}

/** CPU time the service process has used so far, ms (utime + stime from /proc/<pid>/stat). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100;
}

describe('/metrics on the GPU simulator, over HTTP', () => {
  it('names, labels and units match /gpus on an H200 (FB in MiB, power in W, energy in mJ); no fan series', async () => {
    const used = 40960 * MiB + 12345;
    const run = await startSim({ preset: 'h200', gpus: [{ index: 0, memoryUsedBytes: used }] }, FROZEN);
    const { system, gpus } = await gpusOf(run);
    const gpu = gpus[0]!;
    expect(gpu.memoryUsedBytes).toBe(used);
    const m = await run.scrape();
    const labels = {
      gpu: '0',
      UUID: gpu.uuid,
      pci_bus_id: gpu.pciBusId,
      device: 'nvidia0',
      modelName: gpu.name,
      Hostname: 'e2e-node',
      DCGM_FI_DRIVER_VERSION: system.driverVersion,
    };
    const value = (name: string) => valueOf(m, name, labels);
    const n = (key: string) => gpu[key] as number;
    expect(value('DCGM_FI_DEV_FB_USED')).toBe(Math.floor(n('memoryUsedBytes') / MiB));
    expect(value('DCGM_FI_DEV_FB_USED')).toBe(40960);
    expect(value('DCGM_FI_DEV_FB_FREE')).toBe(Math.floor(n('memoryFreeBytes') / MiB));
    expect(value('DCGM_FI_DEV_FB_TOTAL')).toBe(Math.floor(n('memoryTotalBytes') / MiB));
    expect(value('DCGM_FI_DEV_FB_RESERVED')).toBe(Math.floor(n('memoryReservedBytes') / MiB));
    expect(value('DCGM_FI_DEV_POWER_USAGE')).toBe(n('powerUsageMilliwatts') / 1000);
    expect(value('DCGM_FI_DEV_ENFORCED_POWER_LIMIT')).toBe(n('powerLimitMilliwatts') / 1000);
    expect(value('DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION')).toBe(n('energyConsumedMillijoules'));
    expect(value('DCGM_FI_DEV_GPU_TEMP')).toBe(n('temperatureCelsius'));
    expect(value('DCGM_FI_DEV_SM_CLOCK')).toBe(n('smClockMhz'));
    expect(value('DCGM_FI_DEV_MEM_CLOCK')).toBe(n('memoryClockMhz'));
    expect(value('DCGM_FI_DEV_GPU_UTIL')).toBe(n('utilizationGpuPercent'));
    expect(value('DCGM_FI_DEV_MEM_COPY_UTIL')).toBe(n('utilizationMemoryPercent'));
    expect(value('DCGM_FI_DEV_ECC_DBE_VOL_TOTAL')).toBe(n('eccVolatileUncorrected'));
    expect(value('DCGM_FI_DEV_XID_ERRORS')).toBe(0);
    expect(m.help.get('DCGM_FI_DEV_FB_USED')).toContain('MiB');
    expect(m.help.get('DCGM_FI_DEV_POWER_USAGE')).toContain('W');
    expect(m.help.get('DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION')).toContain('mJ');
    expect(m.type.get('DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION')).toBe('counter');
    // The H200 has no fan: no series, and /gpus says why.
    expect(gpu.fanSpeedPercent).toBeNull();
    expect(m.type.get('DCGM_FI_DEV_FAN_SPEED')).toBe('gauge');
    expect(samplesOf(m, 'DCGM_FI_DEV_FAN_SPEED')).toEqual([]);
    // Every GPU series carries exactly dcgm-exporter's label set.
    for (const s of m.samples.filter((x) => x.name.startsWith('DCGM_FI_'))) expect(s.labels).toEqual(labels);
    const { DCGM_FI_DRIVER_VERSION: _, ...gpuLabelSet } = labels;
    expect(valueOf(m, 'gpu_service_gpu_status', { ...gpuLabelSet, status: 'up' })).toBe(1);
    const simulated = (await fetch(`${run.service.baseUrl}/metrics`)).headers.get('x-gpu-simulated');
    expect(valueOf(m, 'gpu_service_simulated', { preset: simulated! })).toBe(1);
    expect(samplesOf(m, 'process_resident_memory_bytes')).toHaveLength(1);
  });

  it('a scrape makes no NVML call (the simulator counts every call)', async () => {
    const run = await startSim({ preset: 'h200' }, FROZEN);
    await run.scrape();
    const before = readSimCounters(run.countersPath);
    expect(before.nvmlDeviceGetMemoryInfo_v2?.calls).toBeGreaterThan(0);
    for (let i = 0; i < 10; i++) await run.scrape();
    const after = readSimCounters(run.countersPath);
    expect(callsButEventWait(after)).toEqual(callsButEventWait(before));
  });

  it('scrapes leave no request lines at info level (S15), unlike /gpus', async () => {
    const run = await startSim({ preset: 'h200' }, FROZEN);
    for (let i = 0; i < 20; i++) await run.scrape();
    await gpusOf(run);
    await waitFor(() => run.service.records().some((r) => urlOf(r) === '/gpus'), { what: 'the /gpus request line' });
    expect(run.service.records().filter((r) => urlOf(r)?.startsWith('/metrics'))).toEqual([]);
  });

  it('16 GPUs give 16 label sets, and a scrape costs milliseconds of CPU', async () => {
    const run = await startSim({ preset: 'h200x16' }, FROZEN);
    const { gpus } = await gpusOf(run);
    expect(gpus).toHaveLength(16);
    const m = await run.scrape();
    for (const name of ['DCGM_FI_DEV_GPU_TEMP', 'DCGM_FI_DEV_FB_USED', 'DCGM_FI_DEV_POWER_USAGE', 'DCGM_FI_DEV_XID_ERRORS']) {
      const series = samplesOf(m, name);
      expect(series.map((s) => s.labels.UUID), name).toEqual(gpus.map((g) => g.uuid));
      expect(series.map((s) => s.labels.gpu)).toEqual(gpus.map((g) => String(g.index)));
      expect(series.map((s) => s.labels.device)).toEqual(gpus.map((g) => `nvidia${g.index}`));
      expect(new Set(series.map((s) => s.labels.pci_bus_id)).size).toBe(16);
    }
    expect(samplesOf(m, 'gpu_service_gpu_status', { status: 'up' })).toHaveLength(16);

    const pid = run.service.child.pid!;
    const scrapes = 100;
    const cpuBefore = cpuMs(pid);
    const wall: number[] = [];
    for (let i = 0; i < scrapes; i++) {
      const t0 = performance.now();
      await (await fetch(`${run.service.baseUrl}/metrics`)).text();
      wall.push(performance.now() - t0);
    }
    const cpuPerScrapeMs = (cpuMs(pid) - cpuBefore) / scrapes;
    const medianWallMs = wall.toSorted((a, b) => a - b)[scrapes / 2]!;
    console.log(`16 GPUs: ${cpuPerScrapeMs.toFixed(2)} ms CPU per scrape in the service, median ${medianWallMs.toFixed(2)} ms per scrape`);
    // Bounds loose enough for a loaded CI machine (about 8 ms CPU on a busy 2-vCPU VM, half of it
    // prom-client's text formatting of ~1,100 series); a scrape that sampled 16 GPUs or grew
    // quadratically would be far above them.
    expect(cpuPerScrapeMs).toBeLessThan(25);
    expect(medianWallMs).toBeLessThan(100);
  });

  it('follows XIDs from the driver: the last XID, counts per XID, the critical finding', async () => {
    const scenario: SimScenario = { preset: 'h200' };
    const run = await startSim(scenario, { GPU_POLL_INTERVAL_MS: '200' });
    const uuid = (await gpusOf(run)).gpus[0]!.uuid;
    const xid79 = { gpu: 0, xid: 79, atEpochMs: Date.now() + 300 };
    updateScenario(run.scenarioPath, { ...scenario, xidEvents: [xid79] });
    let m = await run.scrape();
    await waitFor(async () => valueOf((m = await run.scrape()), 'DCGM_FI_DEV_XID_ERRORS') === 79, { timeoutMs: 10_000, what: 'XID 79 in /metrics' });
    expect(valueOf(m, 'gpu_service_xid_events_total', { UUID: uuid, xid: '79' })).toBe(1);
    expect(valueOf(m, 'gpu_service_gpu_findings', { UUID: uuid, reason: 'xid_critical', effect: 'fail' })).toBe(1);
    expect(valueOf(m, 'gpu_service_gpu_status', { UUID: uuid, status: 'down' })).toBe(1);
    expect(valueOf(m, 'gpu_service_health_check_status', { check: 'gpu', status: 'down' })).toBe(1);

    // XID 13 is an application error (ignored by default): counted and shown as the last XID.
    updateScenario(run.scenarioPath, { ...scenario, xidEvents: [xid79, { gpu: 0, xid: 13, atEpochMs: Date.now() + 300 }] });
    await waitFor(async () => valueOf((m = await run.scrape()), 'DCGM_FI_DEV_XID_ERRORS') === 13, { timeoutMs: 10_000, what: 'XID 13 in /metrics' });
    expect(samplesOf(m, 'gpu_service_xid_events_total').map((s) => [s.labels.xid, s.value])).toEqual([
      ['79', 1],
      ['13', 1],
    ]);
  });

  it('a GPU fallen off the bus: status lost, its readings absent, the others still reported', async () => {
    const scenario: SimScenario = { preset: 'h100x8', system: { gpuCount: 2 } };
    const run = await startSim(scenario, { GPU_POLL_INTERVAL_MS: '200', GPU_SNAPSHOT_MAX_AGE_MS: '500' });
    const [first, second] = (await gpusOf(run)).gpus;
    updateScenario(run.scenarioPath, { ...scenario, faults: [{ function: '*', gpu: 1, returnCode: 'NVML_ERROR_GPU_IS_LOST' }] });
    let m = await run.scrape();
    await waitFor(async () => valueOf((m = await run.scrape()), 'gpu_service_gpu_status', { UUID: second!.uuid, status: 'lost' }) === 1, {
      timeoutMs: 10_000,
      what: 'GPU 1 lost in /metrics',
    });
    expect(samplesOf(m, 'DCGM_FI_DEV_GPU_TEMP').map((s) => s.labels.UUID)).toEqual([first!.uuid]);
    expect(samplesOf(m, 'DCGM_FI_DEV_FB_USED').map((s) => s.labels.UUID)).toEqual([first!.uuid]);
    expect(valueOf(m, 'gpu_service_gpu_findings', { UUID: second!.uuid, reason: 'gpu_lost' })).toBe(1);
    expect(samplesOf(m, 'gpu_service_nvml_errors_total', { code: '15', name: 'NVML_ERROR_GPU_IS_LOST' }).length).toBeGreaterThan(0);
  });
});

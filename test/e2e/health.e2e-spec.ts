import { type SimScenario, updateScenario } from '@app/gpu-sim';
import { afterEach, describe, expect, it } from 'vitest';
import { getJson, type SimService, startSimService, waitFor } from '../support/service.js';

type Gpu = Record<string, unknown> & { uuid: string; index: number; status: string; reasons: Array<{ reason: string }> };
type Ready = { status: string; details: Record<string, Record<string, unknown>> & { gpu: { gpus: Record<string, Gpu>; healthy: number; required: number } } };

const FAST = { GPU_POLL_INTERVAL_MS: '100', GPU_SNAPSHOT_MAX_AGE_MS: '300' };
let service: SimService | null = null;

afterEach(async () => {
  await service?.stop('SIGKILL');
  service = null;
});

async function start(scenario: SimScenario, env: Record<string, string> = {}): Promise<SimService> {
  service = await startSimService({ scenario, env: { ...FAST, ...env } });
  return service;
}

const gpus = async (s: SimService) => (await getJson<{ gpus: Gpu[] }>(s.baseUrl, '/gpus')).body.gpus;
const ready = (s: SimService) => getJson<Ready>(s.baseUrl, '/health/ready');
const live = (s: SimService) => getJson(s.baseUrl, '/health/live');
const levelAtLeast = (s: SimService, level: number) => s.records().filter((r) => (r.level as number) >= level);

describe('GPU health on simulated GPUs', () => {
  it('S01: no fan on datacenter GPUs is null with not_supported, never 0, and nothing is logged', async () => {
    const s = await start({ preset: 'h200' });
    for (let i = 0; i < 20; i++) expect((await ready(s)).status).toBe(200);
    const [gpu] = await gpus(s);
    expect(gpu!.fanSpeedPercent).toBeNull();
    expect(gpu!.unavailable).toEqual({ fanSpeedPercent: { reason: 'not_supported', nvmlCode: 3, nvmlName: 'NVML_ERROR_NOT_SUPPORTED' } });
    expect(levelAtLeast(s, 40)).toEqual([]);
  });

  it('S02: utilization under MIG is null with mig_enabled; the other GPU reports numbers', async () => {
    const s = await start({
      preset: 'a100-mig',
      gpus: [
        {
          index: 1,
          like: 0,
          uuid: 'GPU-0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5',
          pciBusId: '00000000:0F:00.0',
          migCurrent: false,
          migPending: false,
          migDevices: [],
          utilizationGpuPercent: 37,
          utilizationMemoryPercent: 12,
        },
      ],
    });
    expect((await ready(s)).status).toBe(200);
    const [mig, plain] = await gpus(s);
    expect(mig).toMatchObject({ utilizationGpuPercent: null, utilizationMemoryPercent: null, mig: { enabled: true } });
    expect(mig!.unavailable).toMatchObject({
      utilizationGpuPercent: { reason: 'mig_enabled', nvmlCode: 3 },
      utilizationMemoryPercent: { reason: 'mig_enabled', nvmlCode: 3 },
    });
    const migDevices = (mig!.mig as { devices: Array<{ uuid: string; status: string; selected: boolean }> }).devices;
    expect(migDevices.length).toBeGreaterThan(0);
    expect(migDevices.every((d) => d.uuid.startsWith('MIG-') && d.status === 'up' && d.selected)).toBe(true);
    expect(plain).toMatchObject({ utilizationGpuPercent: 37, utilizationMemoryPercent: 12, mig: { enabled: false } });
  });

  it('S06: a GPU fallen off the bus is reported lost by its start-up UUID; no 500; readiness follows the minimum', async () => {
    const scenario: SimScenario = { preset: 'h100x8', system: { gpuCount: 4 } };
    const s = await start(scenario);
    const before = await gpus(s);
    expect(before).toHaveLength(4);
    updateScenario(s.scenarioPath, { ...scenario, faults: [{ function: '*', gpu: 2, returnCode: 15 }] });
    await waitFor(async () => (await ready(s)).status === 503, { what: 'readiness to fail', timeoutMs: 5000 });
    const after = await gpus(s);
    expect(after.map((g) => g.uuid)).toEqual(before.map((g) => g.uuid));
    expect(after[2]).toMatchObject({ uuid: before[2]!.uuid, index: 2, status: 'lost', nvmlCode: 15, nvmlName: 'NVML_ERROR_GPU_IS_LOST', temperatureCelsius: null });
    for (const i of [0, 1, 3]) expect(after[i]).toMatchObject({ status: 'up', temperatureCelsius: expect.any(Number), memoryTotalBytes: expect.any(Number) });
    const body = (await ready(s)).body;
    expect(body.status).toBe('error');
    expect(body.details.gpu).toMatchObject({ status: 'down', reason: 'insufficient_healthy_gpus', healthy: 3, required: 4 });
    const errors = levelAtLeast(s, 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ gpu: { index: 2, uuid: before[2]!.uuid }, nvmlCode: 15, nvmlName: 'NVML_ERROR_GPU_IS_LOST', reasons: ['gpu_lost'] });
    expect((await live(s)).status).toBe(200);
  });

  it('S06: with GPU_MIN_HEALTHY_COUNT=3 readiness stays 200 (degraded) with one GPU lost', async () => {
    const s = await start({ preset: 'h100x8', system: { gpuCount: 4 }, faults: [{ function: '*', gpu: 2, returnCode: 15, fromMs: 1500 }] }, { GPU_MIN_HEALTHY_COUNT: '3' });
    await waitFor(async () => (await gpus(s))[2]!.status === 'lost', { what: 'GPU 2 to be lost' });
    const r = await ready(s);
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('degraded');
    expect(r.body.details.gpu).toMatchObject({ status: 'degraded', healthy: 3, required: 3 });
  });

  it('S07: a hung NVML call: liveness stays fast, readiness answers 503 nvml_timeout, no pile-up, fresh state after', async () => {
    const scenario: SimScenario = { preset: 'h200' };
    const s = await start(scenario, { NVML_CALL_TIMEOUT_MS: '300' });
    updateScenario(s.scenarioPath, { ...scenario, faults: [{ function: 'nvmlDeviceGetTemperature', gpu: 0, delayMs: 4000, calls: 1 }] });
    await waitFor(async () => (await ready(s)).status === 503, { what: 'readiness to fail', timeoutMs: 5000 });
    const r = await ready(s);
    expect(r.ms).toBeLessThan(1000);
    const gpu = Object.values(r.body.details.gpu.gpus)[0]!;
    expect(gpu.reasons.map((x) => x.reason)).toEqual(['nvml_timeout']);
    expect(String((gpu.reasons[0] as unknown as { detail: string }).detail)).toContain('nvmlDeviceGetTemperature');
    const liveTimes: number[] = [];
    for (let i = 0; i < 30; i++) {
      const l = await live(s);
      expect(l.status).toBe(200);
      liveTimes.push(l.ms);
      await getJson(s.baseUrl, '/health/ready');
    }
    expect(Math.max(...liveTimes)).toBeLessThan(100);
    expect(s.counters().nvmlDeviceGetTemperature!.maxInFlight).toBe(1);
    await waitFor(async () => (await ready(s)).status === 200, { what: 'recovery after the call returns', timeoutMs: 8000 });
    const downLines = levelAtLeast(s, 50).filter((l) => String(l.msg).includes('down'));
    expect(downLines).toHaveLength(1);
    expect(downLines[0]).toMatchObject({ reasons: ['nvml_timeout'] });
  });

  it('S05: NVML_ERROR_UNKNOWN after a daemon-reload: 503 at once, re-init with backoff, liveness fails after the window', async () => {
    const scenario: SimScenario = { preset: 'h200' };
    const s = await start(scenario, { GPU_RESTART_AFTER_S: '2' });
    updateScenario(s.scenarioPath, { ...scenario, faults: [{ function: '*', returnCode: 999 }] });
    await waitFor(async () => (await ready(s)).status === 503, { what: 'readiness to fail', timeoutMs: 2000 });
    const gpu = Object.values((await ready(s)).body.details.gpu.gpus)[0]!;
    expect(gpu.reasons.map((r) => r.reason)).toContain('nvml_unknown_error');
    expect((await live(s)).status).toBe(200);
    await waitFor(async () => (await live(s)).status === 503, { what: 'liveness to fail', timeoutMs: 8000 });
    const l = await getJson<{ details: { nvml: Record<string, unknown> } }>(s.baseUrl, '/health/live');
    expect(l.body.details.nvml).toMatchObject({ status: 'down', reason: 'nvml_unknown_error', restartAfterS: 2 });
    await waitFor(() => s.counters().nvmlInit_v2!.calls >= 3, { what: 'a second re-initialisation attempt', timeoutMs: 8000 });
    // Logged on state change only: one down line, one re-initialisation failure.
    expect(levelAtLeast(s, 50).filter((r) => String(r.msg).includes('re-initialisation failed'))).toHaveLength(1);
    expect(levelAtLeast(s, 50).filter((r) => String(r.msg).includes(') down'))).toHaveLength(1);
  });

  it('S05 variant: NVML_ERROR_OPERATING_SYSTEM (17) under compose exits 20 so the restart policy acts', async () => {
    const scenario: SimScenario = { preset: 'h200' };
    const s = await start(scenario, { GPU_RESTART_AFTER_S: '1', GPU_UNRECOVERABLE_ACTION: 'exit' });
    updateScenario(s.scenarioPath, { ...scenario, faults: [{ function: '*', returnCode: 17 }] });
    const { code } = await s.exited;
    expect(code).toBe(20);
    expect(s.records().find((r) => r.level === 60)).toMatchObject({ reason: 'nvml_operating_system', exitCode: 20 });
  });

  it('S05: recovers without a restart once NVML answers again', async () => {
    const scenario: SimScenario = { preset: 'h200' };
    const s = await start(scenario, { GPU_RESTART_AFTER_S: '60' });
    updateScenario(s.scenarioPath, { ...scenario, faults: [{ function: '*', returnCode: 999 }] });
    await waitFor(async () => (await ready(s)).status === 503, { what: 'readiness to fail', timeoutMs: 2000 });
    updateScenario(s.scenarioPath, scenario);
    await waitFor(async () => (await ready(s)).status === 200, { what: 'recovery', timeoutMs: 10_000 });
    expect(s.records().some((r) => String(r.msg).includes('recovered'))).toBe(true);
    const transitions = (await getJson<{ transitions: Array<{ from: string; to: string; reasons: Array<{ reason: string }> }> }>(s.baseUrl, '/health/transitions')).body.transitions;
    expect(transitions.map((t) => `${t.from}->${t.to}`)).toEqual(['up->down', 'down->up']);
    expect(transitions[0]!.reasons.map((r) => r.reason)).toEqual(['nvml_unknown_error']);
  });

  it('S11: processes with host PIDs are listed with name null; readiness unaffected', async () => {
    const s = await start({ preset: 'h200', gpus: [{ index: 0, processes: [{ pid: 4_000_001, usedMemoryBytes: '2GiB' }, { pid: 4_000_002, usedMemoryBytes: '512MiB' }] }] });
    expect((await ready(s)).status).toBe(200);
    const [gpu] = await gpus(s);
    expect(gpu!.processes).toEqual([
      { pid: 4_000_001, name: null, usedMemoryBytes: 2 * 1024 ** 3 },
      { pid: 4_000_002, name: null, usedMemoryBytes: 512 * 1024 ** 2 },
    ]);
  });

  it('S12: heap measured against heap_size_limit; a tripped rule answers 503 at once', async () => {
    const s = await start({ preset: 'h200' });
    const l = await getJson<{ details: { heap: { usedBytes: number; limitBytes: number; heapSizeLimitBytes: number } } }>(s.baseUrl, '/health/live');
    expect(l.status).toBe(200);
    expect(l.body.details.heap.limitBytes).toBe(Math.floor(l.body.details.heap.heapSizeLimitBytes * 0.9));
    await s.stop();
    const tight = await start({ preset: 'h200' }, { HEALTH_HEAP_MAX_BYTES: '1024' });
    expect((await live(tight)).status).toBe(503);
    expect((await ready(tight)).status).toBe(503);
  });

  it('S13: NVML 999 on a handle call answers a Terminus-shaped 503, never 500 or a hidden down', async () => {
    const scenario: SimScenario = { preset: 'h200' };
    const s = await start(scenario);
    updateScenario(s.scenarioPath, { ...scenario, faults: [{ function: ['nvmlDeviceGetHandleByUUID', 'nvmlDeviceGetMemoryInfo_v2'], returnCode: 999 }] });
    await waitFor(async () => (await ready(s)).status === 503, { what: 'readiness to fail' });
    const r = await ready(s);
    expect(Object.keys(r.body).toSorted()).toEqual(['details', 'error', 'info', 'status']);
    expect(r.body.status).toBe('error');
    expect(r.body.details.gpu).toMatchObject({ status: 'down' });
    expect((r.body as unknown as { error: Record<string, unknown> }).error.gpu).toBeDefined();
  });

  it('S14: a GPU lost for a while logs a handful of single-line JSON records, not one per probe', async () => {
    const scenario: SimScenario = { preset: 'h200' };
    const s = await start(scenario, { GPU_LOG_REMINDER_S: '1', GPU_REINIT_BACKOFF_MAX_S: '1' });
    updateScenario(s.scenarioPath, { ...scenario, faults: [{ function: '*', gpu: 0, returnCode: 15 }] });
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      await getJson(s.baseUrl, '/health/ready');
      await new Promise((r) => setTimeout(r, 20));
    }
    updateScenario(s.scenarioPath, scenario);
    await waitFor(async () => (await ready(s)).status === 200, { what: 'recovery', timeoutMs: 10_000 });
    const gpuLines = s.records().filter((r) => (r.gpu as { uuid?: string } | undefined)?.uuid === 'GPU-a7edcf28-a056-2c49-34b6-5db71afeea6a');
    expect(gpuLines.length).toBeGreaterThanOrEqual(2);
    expect(gpuLines.length).toBeLessThanOrEqual(6);
    expect(gpuLines[0]).toMatchObject({ level: 50, gpu: { index: 0 }, nvmlCode: 15, nvmlName: 'NVML_ERROR_GPU_IS_LOST' });
    expect(gpuLines.at(-1)).toMatchObject({ level: 30, status: 'up' });
    // Every line is one JSON record.
    expect(s.lines().filter((l) => l.startsWith('{')).every((l) => JSON.parse(l) !== null)).toBe(true);
  });

  it('S15: probe requests are not logged at info; /gpus requests are', async () => {
    const s = await start({ preset: 'h200' });
    const before = s.records().length;
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => getJson(s.baseUrl, ['/health/live', '/health/ready', '/health/startup'][j % 3]!)));
    }
    for (let i = 0; i < 10; i++) await getJson(s.baseUrl, '/gpus');
    await waitFor(() => s.records().filter((r) => r.msg === 'request completed').length >= 10, { what: 'request lines' });
    const requests = s.records().slice(before).filter((r) => r.msg === 'request completed' && (r.level as number) >= 30);
    expect(requests).toHaveLength(10);
    expect(requests.every((r) => (r.req as { url: string }).url === '/gpus')).toBe(true);
  });

  it('S16: SIGTERM drains: readiness 503 shutting_down at once, liveness 200, the slow request finishes, NVML shut down once, exit 0', async () => {
    const scenario: SimScenario = { preset: 'h200' };
    const s = await start(scenario, { SHUTDOWN_DRAIN_DELAY_MS: '1500', NVML_CALL_TIMEOUT_MS: '5000', GPU_SNAPSHOT_MAX_AGE_MS: '100', GPU_POLL_INTERVAL_MS: '60000' });
    updateScenario(s.scenarioPath, { ...scenario, faults: [{ function: 'nvmlDeviceGetPowerUsage', delayMs: 1200 }] });
    await new Promise((r) => setTimeout(r, 200));
    const slow = getJson(s.baseUrl, '/gpus');
    await new Promise((r) => setTimeout(r, 100));
    const signalledAt = Date.now();
    s.child.kill('SIGTERM');
    let readyFailedAt: number | null = null;
    let failedStatus: string | null = null;
    let liveDuringDrain = 0;
    while (Date.now() - signalledAt < 1200) {
      const r = await getJson<{ status: string }>(s.baseUrl, '/health/ready?exclude=gpu');
      if (r.status === 503 && readyFailedAt === null) {
        readyFailedAt = Date.now();
        failedStatus = r.body.status;
      }
      if ((await live(s)).status === 200) liveDuringDrain++;
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(readyFailedAt! - signalledAt).toBeLessThan(200);
    expect(failedStatus).toBe('shutting_down');
    expect(liveDuringDrain).toBeGreaterThan(3);
    expect((await slow).status).toBe(200);
    const { code } = await s.exited;
    expect(code).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(30_000);
    const counters = s.counters();
    expect(counters.nvmlShutdown!.calls).toBe(1);
    const afterShutdown = Object.entries(counters).filter(([, c]) => c.callsAfterShutdown > 0);
    expect(afterShutdown).toEqual([]);
    expect(s.records().some((r) => String(r.msg).startsWith('SIGTERM received'))).toBe(true);
    expect(s.records().at(-1)).toMatchObject({ msg: 'stopped', exitCode: 0 });
  });

  it('GET /health carries every reading of every GPU', async () => {
    const s = await start({ preset: 'h200' });
    const all = await getJson<Ready>(s.baseUrl, '/health');
    expect(all.status).toBe(200);
    expect(Object.values(all.body.details.gpu.gpus)[0]).toMatchObject({ temperatureCelsius: 41, memoryTotalBytes: 150754820096, fanSpeedPercent: null });
    expect(Object.keys(all.body.details).toSorted()).toEqual(['disk', 'event-loop', 'gpu', 'heap', 'nvml', 'shutdown', 'startup']);
  });

  it('critical XIDs fail readiness; application XIDs are ignored', async () => {
    const scenario: SimScenario = { preset: 'h200' };
    const s = await start(scenario);
    updateScenario(s.scenarioPath, { ...scenario, xidEvents: [{ gpu: 0, xid: 13, atEpochMs: Date.now() + 100 }] });
    await new Promise((r) => setTimeout(r, 1500));
    expect((await ready(s)).status).toBe(200);
    updateScenario(s.scenarioPath, { ...scenario, xidEvents: [{ gpu: 0, xid: 79, atEpochMs: Date.now() + 100 }] });
    await waitFor(async () => (await ready(s)).status === 503, { what: 'XID 79 to fail readiness', timeoutMs: 5000 });
    const gpu = Object.values((await ready(s)).body.details.gpu.gpus)[0]!;
    expect(gpu.reasons).toEqual([expect.objectContaining({ reason: 'xid_critical', xid: 79, effect: 'fail' })]);
    expect(levelAtLeast(s, 50)[0]).toMatchObject({ xid: 79, reasons: ['xid_critical'] });
  });

  it('exclude and verbose work as on the Kubernetes API server; bad parameters are 400', async () => {
    const scenario: SimScenario = { preset: 'h200' };
    const s = await start(scenario);
    updateScenario(s.scenarioPath, { ...scenario, faults: [{ function: '*', gpu: 0, returnCode: 15 }] });
    await waitFor(async () => (await ready(s)).status === 503, { what: 'readiness to fail' });
    expect((await getJson(s.baseUrl, '/health/ready?exclude=gpu')).status).toBe(200);
    const verbose = await getJson<string>(s.baseUrl, '/health/ready?verbose&exclude=disk');
    expect(verbose.status).toBe(503);
    expect(verbose.headers.get('content-type')).toContain('text/plain');
    expect(verbose.body).toBe('[+]shutdown ok\n[-]gpu failed: insufficient_healthy_gpus\n[+]heap ok\n[+]disk excluded: ok\nreadyz check failed\n');
    expect((await getJson(s.baseUrl, '/health/live?verbose')).body).toBe('[+]event-loop ok\n[+]heap ok\n[+]nvml ok\nlivez check passed\n');
    expect((await getJson(s.baseUrl, '/health/ready?exclude=nope')).status).toBe(400);
    expect((await getJson(s.baseUrl, '/health/ready?verbose=banana')).status).toBe(400);
    expect(verbose.headers.get('cache-control')).toBe('no-cache, no-store, must-revalidate');
  });

  it('bad input never yields a 500', async () => {
    const s = await start({ preset: 'h200' });
    const cases: Array<[string, number]> = [
      ['/nope', 404],
      ['/gpus/not-a-uuid', 400],
      ['/gpus/GPU-00000000-0000-0000-0000-000000000000', 404],
      [`/gpus/${'x'.repeat(5000)}`, 414],
      [`/${'a/'.repeat(2000)}`, 404],
      ['/gpus?%%', 200],
      ['/gpus/%E0%A4%A', 400],
      ['/health/ready?exclude=', 200],
    ];
    for (const [path, status] of cases) {
      const r = await getJson<{ statusCode?: number }>(s.baseUrl, path);
      const type = status === 200 ? 'application/json' : r.headers.get('content-type');
      expect([path.slice(0, 40), r.status, type]).toEqual([path.slice(0, 40), status, expect.stringContaining('application/json')]);
    }
    const lower = await getJson<{ uuid: string }>(s.baseUrl, '/gpus/gpu-A7EDCF28-A056-2C49-34B6-5DB71AFEEA6A');
    expect(lower.body.uuid).toBe('GPU-a7edcf28-a056-2c49-34b6-5db71afeea6a');
  });

  it('300 concurrent readiness probes while a GPU call is hung are all answered 503 within 1 s', async () => {
    const scenario: SimScenario = { preset: 'h200x16' };
    const s = await start(scenario);
    updateScenario(s.scenarioPath, { ...scenario, faults: [{ function: 'nvmlDeviceGetTemperature', gpu: 5, delayMs: 20_000 }] });
    await waitFor(async () => (await ready(s)).status === 503, { what: 'readiness to fail', timeoutMs: 5000 });
    const answers = await Promise.all(Array.from({ length: 300 }, () => ready(s)));
    expect(answers.map((a) => a.status).filter((st) => st !== 503)).toEqual([]);
    expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(1000);
    expect(s.counters().nvmlDeviceGetTemperature!.maxInFlight).toBeLessThanOrEqual(16);
    const hung = Object.values(answers[0]!.body.details.gpu.gpus).filter((g) => g.status !== 'up');
    expect(hung.map((g) => g.index)).toEqual([5]);
  });

  it('a lost parent takes its MIG devices down with it', async () => {
    const scenario: SimScenario = { preset: 'a100-mig' };
    const s = await start(scenario);
    updateScenario(s.scenarioPath, { ...scenario, faults: [{ function: '*', gpu: 0, returnCode: 15 }] });
    await waitFor(async () => (await gpus(s))[0]!.status === 'lost', { what: 'the GPU to be lost' });
    const [gpu] = await gpus(s);
    const devices = (gpu!.mig as { devices: Array<{ status: string }> }).devices;
    expect(devices.length).toBeGreaterThan(0);
    expect(devices.every((d) => d.status === 'lost')).toBe(true);
  });
});

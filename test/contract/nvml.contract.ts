// Behaviour every NvmlClient must share: the fake, the koffi binding over the native simulator,
// and the koffi binding over the real driver. Each runner supplies a harness; what needs presets
// or fault injection is skipped where the harness cannot do it.
import {
  type NvmlClient,
  type NvmlDeviceEnumerationFailure,
  type NvmlDeviceIdentity,
  type NvmlDeviceSample,
  NvmlError,
  type NvmlEvent,
  NvmlEventType,
  NvmlShutdownError,
  NvmlTimeoutError,
} from '@app/nvml';
import { NVML_PRESET_NAMES, type NvmlPresetName, nvmlPreset } from '@app/nvml/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  expectedIdentity,
  expectedSample,
  GPU_UUID,
  MIG_UUID,
  NOT_SUPPORTED,
  NVML_PCI_BUS_ID,
  nvmlCallError,
  waitFor,
} from './expectations.js';

/** A fault the harness sets up before the client starts. */
export type NvmlFault =
  /** NVML function `fn` returns `code` (for GPU `uuid` only, when given), for `times` calls or always. */
  | { kind: 'fail'; fn: string; code: number; uuid?: string; times?: number }
  /** NVML function `fn` blocks for `ms` per call, like a call hung in the driver. */
  | { kind: 'hang'; fn: string; ms: number; uuid?: string; times?: number }
  /** Every call for GPU `uuid` returns NVML_ERROR_GPU_IS_LOST. */
  | { kind: 'lost'; uuid: string };

export interface NvmlSetup {
  /** The machine (harnesses without presets ignore it). Default: h200. */
  preset?: NvmlPresetName;
  faults?: NvmlFault[];
  defaultTimeoutMs?: number;
}

/** A client under test and its controls. */
export interface NvmlSubject {
  client: NvmlClient;
  /** Pushes an XID critical error of GPU `uuid` to the running event watches. */
  emitXid(uuid: string, xid: number): Promise<void>;
  /** From now on `nvmlEventSetWait_v2` answers `code`. */
  failEventWait(code: number): Promise<void>;
  /** Keys of calls running or stuck now (`system:shutdown`, `device:<uuid>`, ...). */
  runningCalls(): string[];
  /** Releases every reference still held and closes the client. */
  dispose(): Promise<void>;
}

export interface NvmlHarness {
  /** Whether subjects are built from presets (false: a fixed machine such as the real driver). */
  presets: boolean;
  /** Whether faults can be injected. */
  faults: boolean;
  create(setup?: NvmlSetup): Promise<NvmlSubject>;
}

const XID = NvmlEventType.XID_CRITICAL_ERROR;

function isIdentity(d: NvmlDeviceIdentity | NvmlDeviceEnumerationFailure): d is NvmlDeviceIdentity {
  return 'uuid' in d;
}

/** Invariants of a listDevices() result on any machine. */
function checkDevices(devices: Array<NvmlDeviceIdentity | NvmlDeviceEnumerationFailure>): NvmlDeviceIdentity[] {
  expect(devices.map((d) => d.index)).toEqual(devices.map((_, i) => i));
  const identities = devices.filter(isIdentity);
  expect(identities).toHaveLength(devices.length);
  for (const d of identities) {
    expect(d.uuid).toMatch(GPU_UUID);
    expect(d.name.length).toBeGreaterThan(0);
    expect(d.pciBusId).toMatch(NVML_PCI_BUS_ID);
    expect(d.computeCapability?.major).toBeGreaterThanOrEqual(3);
    // A size, or the reason there is none.
    expect(d.memoryTotalBytes ?? d.errors.memoryTotalBytes?.code).toBeGreaterThan(0);
    expect(d.migDevices.map((m) => m.uuid)).toEqual(d.migDevices.map(() => expect.stringMatching(MIG_UUID)));
    expect(d.migEnabled ? d.migDevices : []).toEqual(d.migDevices);
  }
  const uuids = identities.flatMap((d) => [d.uuid, ...d.migDevices.map((m) => m.uuid)]);
  expect(new Set(uuids).size).toBe(uuids.length);
  return identities;
}

const notNull = <T>(value: T | null): value is T => value !== null;

/** Invariants of a sample on any machine. */
function checkSample(sample: NvmlDeviceSample, uuid: string): void {
  expect(sample.uuid).toBe(uuid);
  expect(sample.failure).toBeNull();
  expect(sample.durationMs).toBeGreaterThanOrEqual(0);
  expect(Math.abs(sample.sampledAtMs - Date.now())).toBeLessThan(60_000);
  const r = sample.readings;
  // What cannot be read is null with the reason under the same key, never a stand-in value.
  const keys = Object.keys(r).filter((k) => k !== 'migDevices') as Array<Exclude<keyof typeof r, 'migDevices'>>;
  expect(keys.filter((k) => (r[k] === null) !== (sample.errors[k] !== undefined))).toEqual([]);
  const errors = Object.values(sample.errors);
  expect(errors).toEqual(errors.map(() => expect.objectContaining({ code: expect.any(Number), name: expect.stringMatching(/^NVML_ERROR_/), fn: expect.stringMatching(/^nvml/) })));
  expect(errors.filter((e) => e.code === NOT_SUPPORTED).map((e) => e.name)).toEqual(errors.filter((e) => e.code === NOT_SUPPORTED).map(() => 'NVML_ERROR_NOT_SUPPORTED'));

  // v2 accounting: used excludes reserved, and the parts add up to the total.
  const parts = [r.memoryReservedBytes, r.memoryUsedBytes, r.memoryFreeBytes];
  const complete = r.memoryTotalBytes !== null && parts.every(notNull);
  expect(complete ? parts.filter(notNull).reduce((a, b) => a + b, 0) : r.memoryTotalBytes).toBe(r.memoryTotalBytes);
  expect(r.memoryReservedBytes ?? 1).toBeGreaterThan(0);

  expect(r.temperatureCelsius ?? 1).toBeGreaterThan(0);
  expect(r.temperatureCelsius ?? 0).toBeLessThan(r.temperatureShutdownCelsius ?? Number.POSITIVE_INFINITY);
  expect(r.powerUsageMilliwatts ?? 0).toBeLessThanOrEqual((r.powerLimitMilliwatts ?? Number.POSITIVE_INFINITY) * 1.5);
  for (const pct of [r.utilizationGpuPercent, r.utilizationMemoryPercent, r.fanSpeedPercent].filter(notNull)) {
    expect(pct).toBeGreaterThanOrEqual(0);
    expect(pct).toBeLessThanOrEqual(100);
  }
  expect(r.performanceState ?? 0).toBeGreaterThanOrEqual(0);
  expect(r.performanceState ?? 0).toBeLessThanOrEqual(15);
  expect(r.migEnabled ? r.utilizationGpuPercent : null).toBeNull();
  expect(r.migEnabled ? [] : r.migDevices).toEqual([]);
}

/** Registers the NvmlClient contract for `harness` (call inside a test file). */
export function nvmlContract(harness: NvmlHarness): void {
  let current: NvmlSubject | null = null;
  const open = async (setup?: NvmlSetup): Promise<NvmlSubject> => (current = await harness.create(setup));

  afterEach(async () => {
    await current?.dispose();
    current = null;
  });

  describe('NvmlClient contract: lifecycle', () => {
    it('has no library info before init() and names the library after', async () => {
      const { client } = await open();
      expect(client.libraryInfo()).toBeNull();
      const info = await client.init();
      expect(info.path.length).toBeGreaterThan(0);
      expect(client.libraryInfo()).toEqual(info);
      await client.shutdown();
    });

    it('answers NVML_ERROR_UNINITIALIZED before init()', async () => {
      const { client } = await open();
      const error = await client.listDevices().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NvmlError);
      expect(error).not.toBeInstanceOf(NvmlShutdownError);
      expect(error).toMatchObject({ code: 1, symbol: 'NVML_ERROR_UNINITIALIZED', fn: 'nvmlDeviceGetCount_v2' });
    });

    it('counts references: only the last shutdown() ends NVML, after which every call rejects with NvmlShutdownError', async () => {
      const { client } = await open();
      await client.init();
      await client.init();
      await client.shutdown();
      await expect(client.getSystemInfo()).resolves.toMatchObject({ driverVersion: expect.any(String) });
      await client.shutdown();

      const refused = await Promise.all([
        client.getSystemInfo().catch((e: unknown) => e),
        client.listDevices().catch((e: unknown) => e),
        client.sampleDevice('GPU-00000000-0000-0000-0000-000000000000').catch((e: unknown) => e),
        client.watchEvents([], XID, { onEvent: () => undefined, onError: () => undefined }).catch((e: unknown) => e),
      ]);
      for (const error of refused) {
        expect(error).toBeInstanceOf(NvmlShutdownError);
        expect(error).toMatchObject({ code: 1, symbol: 'NVML_ERROR_UNINITIALIZED', fn: expect.stringMatching(/^nvml[A-Z]\w+$/) });
      }
      // A shutdown without a reference is a no-op.
      await expect(client.shutdown()).resolves.toBeUndefined();
    });

    it('gives each of several concurrent init() calls its own reference', async () => {
      const { client } = await open();
      await Promise.all([client.init(), client.init()]);
      await client.shutdown();
      await expect(client.listDevices()).resolves.toBeInstanceOf(Array);
      await client.shutdown();
      await expect(client.listDevices()).rejects.toBeInstanceOf(NvmlShutdownError);
    });

    it('initialises again after the last shutdown()', async () => {
      const { client } = await open();
      await client.init();
      await client.shutdown();
      await client.init();
      await expect(client.getSystemInfo()).resolves.toMatchObject({ driverVersion: expect.any(String) });
      await client.shutdown();
    });
  });

  const machines: Array<NvmlPresetName | undefined> = harness.presets ? [...NVML_PRESET_NAMES] : [undefined];
  describe.each(machines)('NvmlClient contract: any machine (%s)', (preset) => {
    it('reports driver, NVML and CUDA driver versions', async () => {
      const { client } = await open({ preset });
      await client.init();
      const info = await client.getSystemInfo();
      expect(info.driverVersion).toMatch(/^\d+\.\d+(\.\d+)?$/);
      expect(info.nvmlVersion).toMatch(/^\d+\.\d+\.\d+(\.\d+)?$/);
      expect(info.nvmlVersion.endsWith(info.driverVersion)).toBe(true);
      expect(info.cudaDriverVersion ?? '13.0').toMatch(/^\d+\.\d$/);
      await client.shutdown();
    });

    it('lists devices in index order with well-formed identities, and samples each', async () => {
      const { client } = await open({ preset });
      await client.init();
      const devices = checkDevices(await client.listDevices());
      const samples = await Promise.all(devices.map((d) => client.sampleDevice(d.uuid)));
      devices.forEach((d, i) => checkSample(samples[i]!, d.uuid));
      expect(samples.map((s) => s.uuid)).toEqual(devices.map((d) => d.uuid));
      await client.shutdown();
    });

    it('shares one call between concurrent samples of one GPU', async () => {
      const { client } = await open({ preset });
      await client.init();
      const [first] = checkDevices(await client.listDevices());
      // Without a GPU (the empty preset) an unknown UUID still makes a call to share.
      const uuid = first?.uuid ?? 'GPU-00000000-0000-4000-8000-000000000000';
      const [a, b] = await Promise.all([client.sampleDevice(uuid), client.sampleDevice(uuid)]);
      expect(b).toBe(a);
      await client.shutdown();
    });

    it('reports an unknown UUID as a NOT_FOUND failure of the sample, not a rejection', async () => {
      const { client } = await open({ preset });
      await client.init();
      const uuid = 'GPU-00000000-0000-4000-8000-000000000000';
      const sample = await client.sampleDevice(uuid);
      expect(sample).toMatchObject({ uuid, errors: {}, failure: nvmlCallError(6, 'nvmlDeviceGetHandleByUUID') });
      expect(Object.values(sample.readings).filter((v) => v !== null && !Array.isArray(v))).toEqual([]);
      await client.shutdown();
    });

    it('registers GPUs for XID events, reports unknown UUIDs as unsupported, and stops', async () => {
      const { client } = await open({ preset });
      await client.init();
      const gpus = checkDevices(await client.listDevices()).map((d) => d.uuid);
      const unknown = 'GPU-00000000-0000-4000-8000-000000000000';
      const watch = await client.watchEvents([...gpus, unknown], XID, { onEvent: () => undefined, onError: () => undefined });
      expect(watch.registered).toEqual(gpus);
      expect(watch.unsupported).toEqual({ [unknown]: nvmlCallError(6, 'nvmlDeviceGetHandleByUUID') });
      await watch.stop();
      await client.shutdown();
    });

    it('counts the NVML functions it called', async () => {
      const { client } = await open({ preset });
      await client.init();
      await client.listDevices();
      const stats = client.callStats();
      const init = stats.find((s) => s.fn === 'nvmlInit_v2');
      expect(init?.calls).toBeGreaterThanOrEqual(1);
      expect(stats.find((s) => s.fn === 'nvmlDeviceGetCount_v2')?.calls).toBeGreaterThanOrEqual(1);
      for (const s of stats) {
        expect(s.cumulativeBuckets).toHaveLength(13);
        expect(s.cumulativeBuckets.at(-1)).toBe(s.calls);
        expect(s.cumulativeBuckets.toSorted((x, y) => x - y)).toEqual(s.cumulativeBuckets);
      }
      await client.shutdown();
    });
  });

  describe.skipIf(!harness.presets).each(harness.presets ? [...NVML_PRESET_NAMES] : [])('NvmlClient contract: preset %s', (preset) => {
    const machine = nvmlPreset(preset);

    it('lists exactly the preset GPUs, in NVML order', async () => {
      const { client } = await open({ preset });
      await client.init();
      expect(await client.listDevices()).toEqual(machine.gpus.map(expectedIdentity));
      await client.shutdown();
    });

    it('samples exactly the preset readings', async () => {
      const { client } = await open({ preset });
      await client.init();
      for (const gpu of machine.gpus) {
        expect(await client.sampleDevice(gpu.uuid), gpu.uuid).toMatchObject({ uuid: gpu.uuid, ...expectedSample(gpu) });
      }
      await client.shutdown();
    });

    it('reports the preset driver stack', async () => {
      const { client } = await open({ preset });
      await client.init();
      expect(await client.getSystemInfo()).toEqual(machine.system);
      await client.shutdown();
    });
  });

  describe.skipIf(!harness.presets)('NvmlClient contract: what presets show', () => {
    it('h200: no fan, so fan speed is null with NOT_SUPPORTED (3)', async () => {
      const { client } = await open({ preset: 'h200' });
      await client.init();
      const sample = await client.sampleDevice('GPU-a7edcf28-a056-2c49-34b6-5db71afeea6a');
      expect(sample.readings.fanSpeedPercent).toBeNull();
      expect(sample.errors.fanSpeedPercent).toEqual(nvmlCallError(3, 'nvmlDeviceGetFanSpeed'));
      expect(sample.readings).toMatchObject({ memoryTotalBytes: 150754820096, memoryReservedBytes: 644939776, memoryUsedBytes: 0 });
      await client.shutdown();
    });

    it('a100-mig: MIG devices under their parent with MIG UUIDs; whole-GPU utilization NOT_SUPPORTED', async () => {
      const { client } = await open({ preset: 'a100-mig' });
      await client.init();
      const [gpu] = (await client.listDevices()) as NvmlDeviceIdentity[];
      expect(gpu?.migEnabled).toBe(true);
      expect(gpu?.migDevices.map((m) => [m.index, m.uuid, m.gpuInstanceId])).toEqual([
        [0, 'MIG-2f9c1b4e-7a3d-5e62-9b8c-1d2e3f4a5b60', 1],
        [1, 'MIG-8e7d6c5b-4a39-5f28-8d1c-0b9a8f7e6d51', 2],
      ]);
      const sample = await client.sampleDevice(gpu!.uuid);
      expect(sample.readings.utilizationGpuPercent).toBeNull();
      expect(sample.errors.utilizationGpuPercent).toEqual(nvmlCallError(3, 'nvmlDeviceGetUtilizationRates'));
      expect(sample.readings.migDevices.map((m) => m.uuid)).toEqual(gpu!.migDevices.map((m) => m.uuid));
      await client.shutdown();
    });

    it('gh200: unified memory, so memory readings are null with NOT_SUPPORTED', async () => {
      const { client } = await open({ preset: 'gh200' });
      await client.init();
      const [gpu] = (await client.listDevices()) as NvmlDeviceIdentity[];
      expect(gpu).toMatchObject({ memoryTotalBytes: null, errors: { memoryTotalBytes: nvmlCallError(3, 'nvmlDeviceGetMemoryInfo_v2') } });
      const sample = await client.sampleDevice(gpu!.uuid);
      expect(sample.failure).toBeNull();
      expect(sample.readings).toMatchObject({ memoryTotalBytes: null, memoryUsedBytes: null, temperatureCelsius: 38 });
      await client.shutdown();
    });

    it('empty: NVML initialises with no GPU', async () => {
      const { client } = await open({ preset: 'empty' });
      await client.init();
      expect(await client.listDevices()).toEqual([]);
      await client.shutdown();
    });

    it('mixed-order: NVML indexes follow the PCI bus order', async () => {
      const { client } = await open({ preset: 'mixed-order' });
      await client.init();
      const devices = (await client.listDevices()) as NvmlDeviceIdentity[];
      expect(devices.map((d) => [d.index, d.name, d.pciBusId])).toEqual([
        [0, 'Tesla T4', '00000000:01:00.0'],
        [1, 'NVIDIA H100 80GB HBM3', '00000000:41:00.0'],
      ]);
      await client.shutdown();
    });
  });

  describe.skipIf(!harness.faults)('NvmlClient contract: faults', () => {
    const h100 = nvmlPreset('h100x8').gpus;
    const lost = h100[2]!;

    it('a lost GPU fails with GPU_IS_LOST (15) and leaves the other GPUs alone', async () => {
      const { client } = await open({ preset: 'h100x8', faults: [{ kind: 'lost', uuid: lost.uuid }] });
      await client.init();
      const devices = await client.listDevices();
      expect(devices[2]).toEqual({ index: 2, failure: nvmlCallError(15, 'nvmlDeviceGetHandleByIndex_v2') });
      expect(devices.filter((_, i) => i !== 2)).toEqual(h100.map(expectedIdentity).filter((_, i) => i !== 2));

      const sample = await client.sampleDevice(lost.uuid);
      expect(sample.failure).toMatchObject({ code: 15, name: 'NVML_ERROR_GPU_IS_LOST', fn: expect.stringMatching(/^nvmlDevice/) });
      expect(sample.errors).toEqual({});
      expect(Object.values(sample.readings).filter((v) => v !== null && !Array.isArray(v))).toEqual([]);
      for (const gpu of h100.filter((g) => g !== lost)) {
        expect(await client.sampleDevice(gpu.uuid)).toMatchObject({ uuid: gpu.uuid, ...expectedSample(gpu) });
      }
      await client.shutdown();
    });

    it('an UNKNOWN error (999) on one reading stops the sample as a device failure', async () => {
      const gpu = h100[0]!;
      const { client } = await open({ preset: 'h100x8', faults: [{ kind: 'fail', fn: 'nvmlDeviceGetTemperature', code: 999, uuid: gpu.uuid }] });
      await client.init();
      const sample = await client.sampleDevice(gpu.uuid);
      expect(sample).toMatchObject({ errors: {}, failure: nvmlCallError(999, 'nvmlDeviceGetTemperature') });
      expect(sample.readings.memoryTotalBytes).toBeNull();
      expect(await client.sampleDevice(h100[1]!.uuid)).toMatchObject({ failure: null });
      await client.shutdown();
    });

    it('a reading-level error (NO_PERMISSION) nulls that reading only', async () => {
      const gpu = h100[0]!;
      const { client } = await open({ preset: 'h100x8', faults: [{ kind: 'fail', fn: 'nvmlDeviceGetPowerUsage', code: 4, uuid: gpu.uuid }] });
      await client.init();
      const expected = expectedSample(gpu);
      expect(await client.sampleDevice(gpu.uuid)).toMatchObject({
        readings: { ...expected.readings, powerUsageMilliwatts: null },
        errors: { ...expected.errors, powerUsageMilliwatts: nvmlCallError(4, 'nvmlDeviceGetPowerUsage') },
        failure: null,
      });
      await client.shutdown();
    });

    it('without memory v2 (FUNCTION_NOT_FOUND) falls back to v1, which counts reserved memory as used', async () => {
      const gpu = nvmlPreset('h200').gpus[0]!;
      const { client } = await open({ preset: 'h200', faults: [{ kind: 'fail', fn: 'nvmlDeviceGetMemoryInfo_v2', code: 13 }] });
      await client.init();
      const sample = await client.sampleDevice(gpu.uuid);
      expect(sample.readings).toMatchObject({
        memoryTotalBytes: gpu.memory!.totalBytes,
        memoryReservedBytes: null,
        memoryUsedBytes: gpu.memory!.reservedBytes + gpu.memory!.usedBytes,
        memoryFreeBytes: gpu.memory!.totalBytes - gpu.memory!.reservedBytes - gpu.memory!.usedBytes,
      });
      expect(sample.errors.memoryReservedBytes).toMatchObject({ code: 13, fn: 'nvmlDeviceGetMemoryInfo_v2' });
      await client.shutdown();
    });

    it('an init failure (LIB_RM_VERSION_MISMATCH, 18) rejects with NvmlError and holds no reference', async () => {
      const { client } = await open({ faults: [{ kind: 'fail', fn: 'nvmlInit_v2', code: 18 }] });
      const error = await client.init().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NvmlError);
      expect(error).toMatchObject({ code: 18, symbol: 'NVML_ERROR_LIB_RM_VERSION_MISMATCH', fn: 'nvmlInit_v2' });
      expect(client.libraryInfo()).toBeNull();
      await expect(client.listDevices()).rejects.toMatchObject({ code: 1, fn: 'nvmlDeviceGetCount_v2' });
    });

    // A hang rather than a failing nvmlShutdown: the simulator keeps its own count up when a
    // fault fails nvmlShutdown, and the next subject's initialisation must find it at 0.
    it('a shutdown that times out still gives up the last reference: calls are refused and init() starts NVML again', async () => {
      const subject = await open({ faults: [{ kind: 'hang', fn: 'nvmlShutdown', ms: 1_500, times: 1 }] });
      const { client } = subject;
      await client.init();
      await expect(client.shutdown({ timeoutMs: 200 })).rejects.toMatchObject({ name: 'NvmlTimeoutError', fn: 'nvmlShutdown' });
      await expect(client.getSystemInfo()).rejects.toBeInstanceOf(NvmlShutdownError);
      await client.init();
      await expect(client.getSystemInfo()).resolves.toMatchObject({ driverVersion: expect.any(String) });
      // Once the hung nvmlShutdown has returned, the last reference can end NVML.
      await waitFor(() => (subject.runningCalls().includes('system:shutdown') ? undefined : true), 'the hung nvmlShutdown to return');
      await client.shutdown();
      await expect(client.listDevices()).rejects.toBeInstanceOf(NvmlShutdownError);
    });

    it('a failing device count rejects listDevices with that NvmlError', async () => {
      const { client } = await open({ faults: [{ kind: 'fail', fn: 'nvmlDeviceGetCount_v2', code: 17 }] });
      await client.init();
      await expect(client.listDevices()).rejects.toMatchObject({ name: 'NvmlError', code: 17, symbol: 'NVML_ERROR_OPERATING_SYSTEM', fn: 'nvmlDeviceGetCount_v2' });
      await client.shutdown();
    });

    it('a hung call rejects with NvmlTimeoutError at its deadline; its GPU refuses calls at once until it returns; other GPUs answer', async () => {
      const [hung, other] = [h100[0]!, h100[1]!];
      const { client } = await open({
        preset: 'h100x8',
        faults: [{ kind: 'hang', fn: 'nvmlDeviceGetTemperature', uuid: hung.uuid, ms: 2_000, times: 1 }],
      });
      await client.init();
      await client.listDevices();

      let started = performance.now();
      const timedOut = await client.sampleDevice(hung.uuid, { timeoutMs: 300 }).catch((e: unknown) => e);
      const waited = performance.now() - started;
      expect(timedOut).toBeInstanceOf(NvmlTimeoutError);
      expect(timedOut).toMatchObject({ operation: `sample of ${hung.uuid}`, fn: 'nvmlDeviceGetTemperature', timeoutMs: 300 });
      expect(waited).toBeGreaterThanOrEqual(295);
      expect(waited).toBeLessThan(800);

      started = performance.now();
      const refused = await client.sampleDevice(hung.uuid, { timeoutMs: 1_000 }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(NvmlTimeoutError);
      expect(refused).toMatchObject({ fn: 'nvmlDeviceGetTemperature' });
      expect(performance.now() - started).toBeLessThan(100);

      expect(await client.sampleDevice(other.uuid)).toMatchObject({ uuid: other.uuid, failure: null });

      const recovered = await waitFor(
        () => client.sampleDevice(hung.uuid, { timeoutMs: 1_000 }).catch((e: unknown) => (e instanceof NvmlTimeoutError ? undefined : Promise.reject(e))),
        'the hung GPU to answer again',
      );
      expect(recovered).toMatchObject({ uuid: hung.uuid, ...expectedSample(hung) });
      await client.shutdown();
    });

    it('XID events reach the listener with the UUID of their GPU', async () => {
      const gpu = h100[3]!;
      const subject = await open({ preset: 'h100x8' });
      const { client } = subject;
      await client.init();
      const events: NvmlEvent[] = [];
      const watch = await client.watchEvents([h100[0]!.uuid, gpu.uuid], XID, { onEvent: (e) => events.push(e), onError: () => undefined });
      await subject.emitXid(gpu.uuid, 79);
      const [event] = await waitFor(() => (events.length > 0 ? events : undefined), 'an XID event');
      expect(event).toEqual({ uuid: gpu.uuid, eventType: XID, xid: 79, gpuInstanceId: null, computeInstanceId: null, receivedAtMs: expect.any(Number) });
      await watch.stop();
      await client.shutdown();
    });

    it('a failing event wait is reported to the listener', async () => {
      const subject = await open({ preset: 'h200' });
      const { client } = subject;
      await client.init();
      const errors: NvmlError[] = [];
      await client.watchEvents([nvmlPreset('h200').gpus[0]!.uuid], XID, { onEvent: () => undefined, onError: (e) => errors.push(e) });
      await subject.failEventWait(999);
      const [error] = await waitFor(() => (errors.length > 0 ? errors : undefined), 'the watch to fail');
      expect(error).toBeInstanceOf(NvmlError);
      expect(error).toMatchObject({ code: 999, fn: 'nvmlEventSetWait_v2' });
      await client.shutdown();
    });
  });
}

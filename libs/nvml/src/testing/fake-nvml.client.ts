import type { NvmlFunctionStats } from '../nvml.call-stats.js';
import { NVML_LATENCY_BUCKETS_MS } from '../nvml.call-stats.js';
import { type NvmlEventListener, type NvmlEventWatch, NvmlClient } from '../nvml.client.js';
import { type NvmlCallError, NvmlError, NvmlShutdownError, NvmlTimeoutError } from '../nvml.errors.js';
import { NVML_DEVICE_FAILURES, NvmlReturn, nvmlReturnName, nvmlReturnText } from '../nvml.return-codes.js';
import {
  type NvmlCallOptions,
  type NvmlDeviceEnumerationFailure,
  type NvmlDeviceIdentity,
  type NvmlDeviceReadings,
  type NvmlDeviceSample,
  type NvmlEvent,
  NvmlEventType,
  type NvmlLibraryInfo,
  type NvmlMigDeviceIdentity,
  type NvmlReadingName,
  type NvmlSystemInfo,
} from '../nvml.types.js';
import { NVML_FUNCTIONS } from '../koffi/nvml.symbols.js';
import { type CallTrace, DeadlineCalls, Hang } from './fake-calls.js';
import { emptyReadings } from '../nvml.readings.js';
import { type FakeGpu, type FakeMemory, type FakeReadings, freeBytes, type NvmlPreset, type NvmlPresetName, nvmlPreset } from './nvml.presets.js';

/** Settings of a FakeNvmlClient. */
export interface FakeNvmlClientOptions {
  /** A preset name, or a preset object (e.g. one changed by the test). */
  preset: NvmlPresetName | NvmlPreset;
  /** Deadline of a call when the caller gives none, ms (default 1000). */
  defaultTimeoutMs?: number;
}

/** What the fake has been asked, for assertions on call discipline. */
export interface FakeNvmlCounters {
  /** Calls per NVML function the fake driver answered. */
  calls: Record<string, number>;
  /** Port calls made after the last shutdown (each refused with NvmlShutdownError). */
  callsAfterShutdown: number;
  /** The most port operations running at once, stuck ones included. */
  maxInFlight: number;
}

interface Fault {
  fn: string;
  /** GPU the fault is limited to; null: every GPU and the system-wide functions. */
  uuid: string | null;
  code: number | null;
  hang: Hang | null;
  /** Calls it still applies to; null: until cleared. */
  remaining: number | null;
}

/** Thrown inside a sample when a device-wide failure stops it (as in the binding). */
class DeviceFailure {
  constructor(readonly error: NvmlCallError) {}
}

/** Calls one NVML function of the fake driver and returns its nvmlReturn_t. */
type Call = (fn: string, natural?: number) => Promise<number>;

const XID = NvmlEventType.XID_CRITICAL_ERROR;
const MAX_MIG_DEVICES = 7;
const NVML_PSTATE_UNKNOWN = 32;

/**
 * NvmlClient over fake GPUs built from a named preset. It implements the port's documented
 * semantics as the threaded binding does, walking the same NVML functions in the same order, so
 * a fault injected on an NVML function has the effect it has on the real library:
 *
 * - `init`/`shutdown` are reference counted; after the last `shutdown` every call rejects with
 *   NvmlShutdownError without reaching the driver; before `init` the driver answers UNINITIALIZED.
 * - Each call has a deadline (NvmlTimeoutError); calls are single flight per key (`device:<uuid>`,
 *   `system:list`, ...); a key whose call is stuck past its deadline refuses calls at once.
 * - Faults: a return code per function and GPU (`failCall`), a hung function (`hangCall`), a lost
 *   GPU (`loseGpu`), XID events pushed to watchers (`emitXid`).
 */
export class FakeNvmlClient extends NvmlClient {
  readonly preset: NvmlPreset;
  private readonly defaultTimeoutMs: number;
  private readonly calls = new DeadlineCalls(
    (key, trace, timeoutMs, stillRunning) =>
      new NvmlTimeoutError(
        key.startsWith('device:') ? `sample of ${key.slice(7)}` : key,
        stillRunning ? trace.blockedIn : null,
        timeoutMs,
        Date.now() - trace.startedAtMs,
      ),
  );
  private faults: Fault[] = [];
  private readonly watches = new Set<FakeWatch>();
  private readonly stats = new Map<string, { calls: number; errors: Map<number, number> }>();
  /** NVML's own initialisation count, as nvmlInit_v2 / nvmlShutdown keep it. */
  private driverRefs = 0;
  private refs = 0;
  private shutDown = false;
  private stopping: Promise<void> | null = null;
  private closed = false;
  private refused = 0;
  private info: NvmlLibraryInfo | null = null;

  constructor(options: FakeNvmlClientOptions) {
    super();
    this.preset = typeof options.preset === 'string' ? nvmlPreset(options.preset) : options.preset;
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 1_000;
  }

  // ---- the port -------------------------------------------------------------------------------

  override async init(options?: NvmlCallOptions): Promise<NvmlLibraryInfo> {
    this.assertOpen();
    if (this.stopping) await this.stopping.catch(() => undefined);
    if (this.refs === 0) {
      this.info = await this.calls.run('system:init', this.timeout(options), async (trace) => {
        const rc = await this.driver(trace)('nvmlInit_v2');
        if (rc !== 0) throw new NvmlError(rc, 'nvmlInit_v2');
        this.driverRefs++;
        return { path: `fake:${this.preset.name}`, simulator: { preset: this.preset.name, scenario: null } };
      });
      this.shutDown = false;
    }
    this.refs++;
    return this.info!;
  }

  override async shutdown(options?: NvmlCallOptions): Promise<void> {
    if (this.refs === 0) return;
    if (this.refs > 1) {
      this.refs--;
      return;
    }
    this.stopping ??= this.calls
      .run('system:shutdown', this.timeout(options), async (trace) => {
        await Promise.all([...this.watches].map((w) => w.stop()));
        const rc = await this.driver(trace)('nvmlShutdown');
        if (rc !== 0) throw new NvmlError(rc, 'nvmlShutdown');
        this.driverRefs--;
      })
      .finally(() => {
        // The reference is given up even when nvmlShutdown fails or times out.
        this.refs = 0;
        this.shutDown = true;
        this.stopping = null;
      });
    return this.stopping;
  }

  override getSystemInfo(options?: NvmlCallOptions): Promise<NvmlSystemInfo> {
    return this.operation('system:info', 'nvmlSystemGetDriverVersion', options, async (call) => {
      const { system } = this.preset;
      let rc = await call('nvmlSystemGetDriverVersion');
      if (rc !== 0) throw new NvmlError(rc, 'nvmlSystemGetDriverVersion');
      rc = await call('nvmlSystemGetNVMLVersion');
      if (rc !== 0) throw new NvmlError(rc, 'nvmlSystemGetNVMLVersion');
      rc = await call('nvmlSystemGetCudaDriverVersion_v2', system.cudaDriverVersion === null ? NvmlReturn.NOT_SUPPORTED : 0);
      return { driverVersion: system.driverVersion, nvmlVersion: system.nvmlVersion, cudaDriverVersion: rc === 0 ? system.cudaDriverVersion : null };
    });
  }

  override listDevices(options?: NvmlCallOptions): Promise<Array<NvmlDeviceIdentity | NvmlDeviceEnumerationFailure>> {
    return this.operation('system:list', 'nvmlDeviceGetCount_v2', options, async (_call, trace) => {
      const rc = await this.driver(trace)('nvmlDeviceGetCount_v2');
      if (rc !== 0) throw new NvmlError(rc, 'nvmlDeviceGetCount_v2');
      const out: Array<NvmlDeviceIdentity | NvmlDeviceEnumerationFailure> = [];
      for (const [index, gpu] of this.preset.gpus.entries()) {
        try {
          out.push(await this.identify(this.driver(trace, gpu.uuid), index, gpu));
        } catch (error) {
          if (!(error instanceof NvmlError)) throw error;
          out.push({ index, failure: error.toJSON() });
        }
      }
      return out;
    });
  }

  override sampleDevice(uuid: string, options?: NvmlCallOptions): Promise<NvmlDeviceSample> {
    if (this.preset.gpus.some((g) => g.migDevices.some((m) => m.uuid === uuid))) {
      return Promise.reject(new Error(`FakeNvmlClient samples whole GPUs only; ${uuid} is a MIG device`));
    }
    return this.operation(`device:${uuid}`, 'nvmlDeviceGetHandleByUUID', options, (_call, trace) => this.sample(trace, uuid));
  }

  override async watchEvents(uuids: string[], eventTypes: number, listener: NvmlEventListener): Promise<NvmlEventWatch> {
    this.assertLive('nvmlEventSetCreate');
    this.assertOpen();
    const trace: CallTrace = { blockedIn: null, startedAtMs: Date.now() };
    const call = this.driver(trace);
    const rc = await call('nvmlEventSetCreate');
    if (rc !== 0) throw new NvmlError(rc, 'nvmlEventSetCreate');
    const watch = new FakeWatch(listener, this.driver(trace), () => this.watches.delete(watch));
    for (const uuid of uuids) {
      const gpu = this.gpuOrMigParent(uuid);
      const device = this.driver(trace, gpu?.uuid ?? null);
      let fn = 'nvmlDeviceGetHandleByUUID';
      let code = await device(fn, gpu ? 0 : NvmlReturn.NOT_FOUND);
      let wanted = 0;
      if (code === 0) {
        fn = 'nvmlDeviceGetSupportedEventTypes';
        // A MIG device handle takes no event registration.
        code = await device(fn, gpu!.uuid === uuid ? 0 : NvmlReturn.NOT_SUPPORTED);
        wanted = code === 0 ? eventTypes & gpu!.supportedEventTypes : 0;
        if (code === 0 && wanted === 0) code = NvmlReturn.NOT_SUPPORTED;
      }
      if (code === 0) {
        fn = 'nvmlDeviceRegisterEvents';
        code = await device(fn);
      }
      if (code === 0) watch.register(uuid, wanted);
      else watch.unsupported[uuid] = callError(code, fn);
    }
    this.watches.add(watch);
    return watch;
  }

  override callStats(): NvmlFunctionStats[] {
    return NVML_FUNCTIONS.flatMap((fn) => {
      const s = this.stats.get(fn);
      if (!s) return [];
      // The fake answers at once: every call falls in the lowest latency bucket.
      return [{ fn, calls: s.calls, totalMs: 0, errorsByCode: Object.fromEntries(s.errors), cumulativeBuckets: NVML_LATENCY_BUCKETS_MS.map(() => s.calls).concat(s.calls) }];
    });
  }

  override libraryInfo(): NvmlLibraryInfo | null {
    return this.info;
  }

  override async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.watches].map((w) => w.stop()));
  }

  // ---- test controls --------------------------------------------------------------------------

  /** The live state of a GPU of the preset; tests may change its readings. */
  gpu(uuid: string): FakeGpu {
    const gpu = this.preset.gpus.find((g) => g.uuid === uuid);
    if (!gpu) throw new Error(`no GPU ${uuid} in preset ${this.preset.name}`);
    return gpu;
  }

  /**
   * Makes NVML function `fn` ('*': every function) return `code`, for one GPU or for all and the
   * system-wide functions, for `times` calls or until cleared.
   */
  failCall(fn: string, code: number, options: { uuid?: string; times?: number } = {}): void {
    this.addFault({ fn, uuid: this.faultUuid(options.uuid), code, hang: null, remaining: options.times ?? null });
  }

  /**
   * Makes NVML function `fn` block, as a call hung in the driver, until the returned hang is
   * released (or for `delayMs` per call), for `times` calls or until cleared; `code` is returned
   * once it unblocks (default: what the call would have returned).
   */
  hangCall(fn: string, options: { uuid?: string; delayMs?: number; hang?: Hang; code?: number; times?: number } = {}): Hang {
    const hang = options.hang ?? new Hang(options.delayMs);
    this.addFault({ fn, uuid: this.faultUuid(options.uuid), code: options.code ?? null, hang, remaining: options.times ?? null });
    return hang;
  }

  /** The GPU fell off the bus: every call for it returns NVML_ERROR_GPU_IS_LOST. */
  loseGpu(uuid: string): void {
    this.failCall('*', NvmlReturn.GPU_IS_LOST, { uuid });
  }

  /** Removes every fault (hung calls stay hung until their hang is released). */
  clearFaults(): void {
    this.faults = [];
  }

  /** Pushes an XID critical error of GPU `uuid` to the watches registered for it. */
  emitXid(uuid: string, xid: number, options: { gpuInstanceId?: number; computeInstanceId?: number } = {}): void {
    this.gpu(uuid);
    const event: Omit<NvmlEvent, 'receivedAtMs'> = {
      uuid,
      eventType: XID,
      xid,
      gpuInstanceId: options.gpuInstanceId ?? null,
      computeInstanceId: options.computeInstanceId ?? null,
    };
    for (const watch of this.watches) watch.push(event);
  }

  counters(): FakeNvmlCounters {
    return {
      calls: Object.fromEntries([...this.stats].map(([fn, s]) => [fn, s.calls])),
      callsAfterShutdown: this.refused,
      maxInFlight: this.calls.maxInFlight(),
    };
  }

  /** Keys of calls running or stuck now, e.g. `device:GPU-...` (as ThreadedNvmlClient). */
  runningCalls(): string[] {
    return this.calls.keys();
  }

  // ---- the fake driver ------------------------------------------------------------------------

  /** A function that calls the fake driver on behalf of GPU `uuid` (null: system-wide). */
  private driver(trace: CallTrace, uuid: string | null = null): Call {
    return async (fn, natural = 0) => {
      let code = natural;
      if (this.driverRefs === 0 && fn !== 'nvmlInit_v2') {
        code = NvmlReturn.UNINITIALIZED;
      } else {
        const fault = this.faults.find((f) => (f.fn === '*' || f.fn === fn) && (f.uuid === null || f.uuid === uuid));
        if (fault) {
          if (fault.remaining !== null && --fault.remaining === 0) this.faults = this.faults.filter((f) => f !== fault);
          if (fault.hang) {
            trace.blockedIn = fn;
            await fault.hang.hold();
            trace.blockedIn = null;
          }
          if (fault.code !== null) code = fault.code;
        }
      }
      const s = this.stats.get(fn) ?? { calls: 0, errors: new Map<number, number>() };
      s.calls++;
      if (code !== 0) s.errors.set(code, (s.errors.get(code) ?? 0) + 1);
      this.stats.set(fn, s);
      return code;
    };
  }

  private operation<T>(
    key: string,
    firstFn: string,
    options: NvmlCallOptions | undefined,
    work: (call: Call, trace: CallTrace) => Promise<T>,
  ): Promise<T> {
    try {
      this.assertLive(firstFn);
      this.assertOpen();
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return this.calls.run(key, this.timeout(options), (trace) => work(this.driver(trace), trace));
  }

  private async identify(call: Call, index: number, gpu: FakeGpu): Promise<NvmlDeviceIdentity> {
    for (const fn of ['nvmlDeviceGetHandleByIndex_v2', 'nvmlDeviceGetUUID', 'nvmlDeviceGetName', 'nvmlDeviceGetPciInfo_v3']) {
      const rc = await call(fn);
      if (rc !== 0) throw new NvmlError(rc, fn);
    }
    const errors: NvmlDeviceIdentity['errors'] = {};
    let rc = await call('nvmlDeviceGetSerial', gpu.serial === null ? NvmlReturn.NOT_SUPPORTED : 0);
    if (rc !== 0) errors.serial = callError(rc, 'nvmlDeviceGetSerial');
    rc = await call('nvmlDeviceGetCudaComputeCapability');
    if (rc !== 0) errors.computeCapability = callError(rc, 'nvmlDeviceGetCudaComputeCapability');
    const memory = emptyReadings();
    const memoryErrors: NvmlDeviceSample['errors'] = {};
    await readMemory(call, gpu.memory, memory, memoryErrors, true);
    if (memoryErrors.memoryTotalBytes) errors.memoryTotalBytes = memoryErrors.memoryTotalBytes;

    let migDevices: NvmlMigDeviceIdentity[] = [];
    rc = await call('nvmlDeviceGetMigMode', gpu.migEnabled === null ? NvmlReturn.NOT_SUPPORTED : 0);
    if (rc !== 0) errors.migEnabled = callError(rc, 'nvmlDeviceGetMigMode');
    else if (gpu.migEnabled) {
      try {
        migDevices = await this.migIdentities(call, gpu);
      } catch (error) {
        if (!(error instanceof NvmlError)) throw error;
        errors.migDevices = error.toJSON();
      }
    }
    return {
      index,
      uuid: gpu.uuid,
      name: gpu.name,
      serial: errors.serial ? null : gpu.serial,
      pciBusId: gpu.pciBusId,
      computeCapability: errors.computeCapability ? null : { ...gpu.computeCapability },
      memoryTotalBytes: memory.memoryTotalBytes,
      migEnabled: rc === 0 ? gpu.migEnabled : null,
      migDevices,
      errors,
    };
  }

  /** MIG slots as `nvmlDeviceGetMigDeviceHandleByIndex` walks them. @throws NvmlError */
  private async migSlots(call: Call, gpu: FakeGpu): Promise<Array<[number, FakeGpu['migDevices'][number]]>> {
    let rc = await call('nvmlDeviceGetMaxMigDeviceCount');
    if (rc !== 0) throw new NvmlError(rc, 'nvmlDeviceGetMaxMigDeviceCount');
    const out: Array<[number, FakeGpu['migDevices'][number]]> = [];
    for (let slot = 0; slot < MAX_MIG_DEVICES; slot++) {
      const mig = gpu.migDevices[slot];
      rc = await call('nvmlDeviceGetMigDeviceHandleByIndex', mig ? 0 : NvmlReturn.NOT_FOUND);
      if (rc === NvmlReturn.NOT_FOUND) continue;
      if (rc !== 0) throw new NvmlError(rc, 'nvmlDeviceGetMigDeviceHandleByIndex');
      out.push([slot, mig!]);
    }
    return out;
  }

  private async migIdentities(call: Call, gpu: FakeGpu): Promise<NvmlMigDeviceIdentity[]> {
    const out: NvmlMigDeviceIdentity[] = [];
    for (const [index, mig] of await this.migSlots(call, gpu)) {
      const rc = await call('nvmlDeviceGetUUID');
      if (rc !== 0) throw new NvmlError(rc, 'nvmlDeviceGetUUID');
      const name = (await call('nvmlDeviceGetName')) === 0 ? mig.name : null;
      const gpuInstanceId = (await call('nvmlDeviceGetGpuInstanceId')) === 0 ? mig.gpuInstanceId : null;
      const computeInstanceId = (await call('nvmlDeviceGetComputeInstanceId')) === 0 ? mig.computeInstanceId : null;
      const memory = emptyReadings();
      await readMemory(call, mig.memory, memory, {}, true);
      out.push({ uuid: mig.uuid, index, name, gpuInstanceId, computeInstanceId, memoryTotalBytes: memory.memoryTotalBytes });
    }
    return out;
  }

  private async sample(trace: CallTrace, uuid: string): Promise<NvmlDeviceSample> {
    const startedAt = performance.now();
    const sampledAtMs = Date.now();
    let readings = emptyReadings();
    let errors: NvmlDeviceSample['errors'] = {};
    let failure: NvmlCallError | null = null;
    const gpu = this.preset.gpus.find((g) => g.uuid === uuid);
    const call = this.driver(trace, gpu?.uuid ?? null);
    try {
      const rc = await call('nvmlDeviceGetHandleByUUID', gpu ? 0 : NvmlReturn.NOT_FOUND);
      if (rc !== 0) throw new DeviceFailure(callError(rc, 'nvmlDeviceGetHandleByUUID'));
      await this.readAll(call, gpu!, readings, errors);
    } catch (error) {
      if (!(error instanceof DeviceFailure)) throw error;
      failure = error.error;
      readings = emptyReadings();
      errors = {};
    }
    return { uuid, sampledAtMs, durationMs: performance.now() - startedAt, readings, errors, failure };
  }

  /** Every reading in the binding's order. @throws DeviceFailure */
  private async readAll(call: Call, gpu: FakeGpu, r: NvmlDeviceReadings, errors: NvmlDeviceSample['errors']): Promise<void> {
    const field = (rc: number, fn: string, key: NvmlReadingName): boolean => {
      if (rc === 0) return true;
      const error = callError(rc, fn);
      if (NVML_DEVICE_FAILURES.has(rc)) throw new DeviceFailure(error);
      errors[key] = error;
      return false;
    };
    const read = async (fn: string, key: keyof FakeReadings): Promise<void> => {
      const value = gpu.readings[key];
      if (field(await call(fn, value === null ? NvmlReturn.NOT_SUPPORTED : 0), fn, key)) (r as unknown as Record<string, unknown>)[key] = value;
    };

    await readMemory(call, gpu.memory, r, errors, false);
    await read('nvmlDeviceGetTemperature', 'temperatureCelsius');
    await read('nvmlDeviceGetTemperatureThreshold', 'temperatureSlowdownCelsius');
    await read('nvmlDeviceGetTemperatureThreshold', 'temperatureShutdownCelsius');
    await read('nvmlDeviceGetPowerUsage', 'powerUsageMilliwatts');
    await read('nvmlDeviceGetEnforcedPowerLimit', 'powerLimitMilliwatts');
    await read('nvmlDeviceGetTotalEnergyConsumption', 'energyConsumedMillijoules');

    if (field(await call('nvmlDeviceGetMigMode', gpu.migEnabled === null ? NvmlReturn.NOT_SUPPORTED : 0), 'nvmlDeviceGetMigMode', 'migEnabled')) {
      r.migEnabled = gpu.migEnabled;
      if (gpu.migEnabled) await this.readMig(call, gpu, r, errors);
    }

    // With MIG enabled the driver has no whole-GPU utilization.
    const { utilizationGpuPercent: gpuUtil, utilizationMemoryPercent: memUtil } = gpu.readings;
    const utilRc = await call('nvmlDeviceGetUtilizationRates', gpu.migEnabled || gpuUtil === null || memUtil === null ? NvmlReturn.NOT_SUPPORTED : 0);
    if (utilRc === 0) {
      r.utilizationGpuPercent = gpuUtil;
      r.utilizationMemoryPercent = memUtil;
    } else {
      field(utilRc, 'nvmlDeviceGetUtilizationRates', 'utilizationGpuPercent');
      errors.utilizationMemoryPercent = errors.utilizationGpuPercent;
    }

    const pstate = gpu.readings.performanceState;
    if (field(await call('nvmlDeviceGetPerformanceState', pstate === null ? NvmlReturn.NOT_SUPPORTED : 0), 'nvmlDeviceGetPerformanceState', 'performanceState')) {
      if (pstate === NVML_PSTATE_UNKNOWN) errors.performanceState = callError(NvmlReturn.NO_DATA, 'nvmlDeviceGetPerformanceState');
      else r.performanceState = pstate;
    }
    await read('nvmlDeviceGetCurrentClocksEventReasons', 'clockEventReasons');
    await read('nvmlDeviceGetClockInfo', 'smClockMhz');
    await read('nvmlDeviceGetClockInfo', 'memoryClockMhz');
    await read('nvmlDeviceGetFanSpeed', 'fanSpeedPercent');

    await read('nvmlDeviceGetEccMode', 'eccEnabled');
    if (r.eccEnabled !== false) {
      await read('nvmlDeviceGetTotalEccErrors', 'eccVolatileUncorrected');
      await read('nvmlDeviceGetTotalEccErrors', 'eccVolatileCorrected');
      await read('nvmlDeviceGetTotalEccErrors', 'eccAggregateUncorrected');
    } else {
      const disabled = callError(NvmlReturn.NOT_SUPPORTED, 'nvmlDeviceGetTotalEccErrors', 'ECC is disabled');
      errors.eccVolatileUncorrected = disabled;
      errors.eccVolatileCorrected = disabled;
      errors.eccAggregateUncorrected = disabled;
    }

    const rows = gpu.remappedRows;
    const rowsRc = await call('nvmlDeviceGetRemappedRows', rows ? 0 : NvmlReturn.NOT_SUPPORTED);
    if (rowsRc === 0 && rows) {
      r.remappedRowsCorrectable = rows.correctable;
      r.remappedRowsUncorrectable = rows.uncorrectable;
      r.remappedRowsPending = rows.pending;
      r.remappedRowsFailure = rows.failure;
    } else {
      field(rowsRc, 'nvmlDeviceGetRemappedRows', 'remappedRowsCorrectable');
      errors.remappedRowsUncorrectable = errors.remappedRowsPending = errors.remappedRowsFailure = errors.remappedRowsCorrectable;
    }

    // The binding grows its buffer and retries twice on INSUFFICIENT_SIZE.
    const processesFn = 'nvmlDeviceGetComputeRunningProcesses_v3';
    for (let attempt = 0; attempt < 3; attempt++) {
      const rc = await call(processesFn);
      if (rc === NvmlReturn.INSUFFICIENT_SIZE) continue;
      if (field(rc, processesFn, 'processes')) r.processes = gpu.processes.map((p) => ({ ...p }));
      return;
    }
    errors.processes = callError(NvmlReturn.INSUFFICIENT_SIZE, processesFn);
  }

  private async readMig(call: Call, gpu: FakeGpu, r: NvmlDeviceReadings, errors: NvmlDeviceSample['errors']): Promise<void> {
    let slots: Awaited<ReturnType<FakeNvmlClient['migSlots']>>;
    try {
      slots = await this.migSlots(call, gpu);
    } catch (error) {
      if (!(error instanceof NvmlError)) throw error;
      if (NVML_DEVICE_FAILURES.has(error.code)) throw new DeviceFailure(error.toJSON());
      errors.migDevices = error.toJSON();
      return;
    }
    for (const [, mig] of slots) {
      const m = emptyReadings();
      await readMemory(call, mig.memory, m, {}, true);
      r.migDevices.push({ uuid: mig.uuid, memoryTotalBytes: m.memoryTotalBytes, memoryUsedBytes: m.memoryUsedBytes, memoryFreeBytes: m.memoryFreeBytes });
    }
  }

  // ---- helpers --------------------------------------------------------------------------------

  private addFault(fault: Fault): void {
    if (fault.fn !== '*' && !NVML_FUNCTIONS.includes(fault.fn)) throw new Error(`${fault.fn} is not an NVML function the binding calls`);
    this.faults.unshift(fault);
    // A watch notices a failing nvmlEventSetWait_v2 on its next wait.
    if (fault.uuid === null && (fault.fn === '*' || fault.fn === 'nvmlEventSetWait_v2')) for (const watch of this.watches) watch.pump();
  }

  private faultUuid(uuid: string | undefined): string | null {
    if (uuid === undefined) return null;
    return this.gpu(uuid).uuid;
  }

  private gpuOrMigParent(uuid: string): FakeGpu | undefined {
    return this.preset.gpus.find((g) => g.uuid === uuid || g.migDevices.some((m) => m.uuid === uuid));
  }

  private assertLive(fn: string): void {
    if (!this.shutDown) return;
    this.refused++;
    throw new NvmlShutdownError(fn);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('nvml: pool is closed');
  }

  private timeout(options?: NvmlCallOptions): number {
    return options?.timeoutMs ?? this.defaultTimeoutMs;
  }
}

/** An event watch of the fake: events queue up and are handed over by `nvmlEventSetWait_v2`. */
class FakeWatch implements NvmlEventWatch {
  registered: string[] = [];
  unsupported: Record<string, NvmlCallError> = {};
  private readonly masks = new Map<string, number>();
  private readonly queue: NvmlEvent[] = [];
  private stopped = false;
  private pumping: Promise<void> | null = null;

  constructor(
    private readonly listener: NvmlEventListener,
    private readonly call: Call,
    private readonly onGone: () => void,
  ) {}

  register(uuid: string, mask: number): void {
    this.registered.push(uuid);
    this.masks.set(uuid, mask);
  }

  push(event: Omit<NvmlEvent, 'receivedAtMs'>): void {
    if (this.stopped || !((this.masks.get(event.uuid) ?? 0) & event.eventType)) return;
    this.queue.push({ ...event, receivedAtMs: 0 });
    this.pump();
  }

  /** Waits for queued events, as the watch thread loops on nvmlEventSetWait_v2. */
  pump(): void {
    this.pumping ??= this.drain().finally(() => (this.pumping = null));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.onGone();
    await this.call('nvmlEventSetFree');
  }

  private async drain(): Promise<void> {
    // Delivered from a later turn, as from another thread.
    await new Promise((resolve) => setImmediate(resolve));
    while (!this.stopped) {
      const rc = await this.call('nvmlEventSetWait_v2', this.queue.length > 0 ? 0 : NvmlReturn.TIMEOUT);
      if (this.stopped || rc === NvmlReturn.TIMEOUT) return;
      if (rc !== 0) {
        this.listener.onError(new NvmlError(rc, 'nvmlEventSetWait_v2'));
        await this.stop();
        return;
      }
      const event = this.queue.shift();
      if (!event) return;
      this.listener.onEvent({ ...event, receivedAtMs: Date.now() });
    }
  }
}

/** v2 accounting (v1 when v2 answers FUNCTION_NOT_FOUND or ARGUMENT_VERSION_MISMATCH), as the binding reads it. */
async function readMemory(
  call: Call,
  memory: FakeMemory | null,
  r: NvmlDeviceReadings,
  errors: NvmlDeviceSample['errors'],
  soft: boolean,
): Promise<void> {
  const unavailable = (rc: number, fn: string): void => {
    const error = callError(rc, fn);
    if (!soft && NVML_DEVICE_FAILURES.has(rc)) throw new DeviceFailure(error);
    errors.memoryTotalBytes = errors.memoryReservedBytes = errors.memoryUsedBytes = errors.memoryFreeBytes = error;
  };
  const natural = memory ? 0 : NvmlReturn.NOT_SUPPORTED;
  let rc = await call('nvmlDeviceGetMemoryInfo_v2', natural);
  if (rc === 0 && memory) {
    r.memoryTotalBytes = memory.totalBytes;
    r.memoryReservedBytes = memory.reservedBytes;
    r.memoryUsedBytes = memory.usedBytes;
    r.memoryFreeBytes = freeBytes(memory);
    return;
  }
  if (rc !== NvmlReturn.FUNCTION_NOT_FOUND && rc !== NvmlReturn.ARGUMENT_VERSION_MISMATCH) return unavailable(rc, 'nvmlDeviceGetMemoryInfo_v2');
  rc = await call('nvmlDeviceGetMemoryInfo', natural);
  if (rc !== 0 || !memory) return unavailable(rc, 'nvmlDeviceGetMemoryInfo');
  // v1 counts the reserved memory as used.
  r.memoryTotalBytes = memory.totalBytes;
  r.memoryUsedBytes = memory.reservedBytes + memory.usedBytes;
  r.memoryFreeBytes = freeBytes(memory);
  errors.memoryReservedBytes = callError(NvmlReturn.FUNCTION_NOT_FOUND, 'nvmlDeviceGetMemoryInfo_v2');
}

function callError(code: number, fn: string, message: string = nvmlReturnText(code)): NvmlCallError {
  return { code, name: nvmlReturnName(code), fn, message };
}

import { bindOptional, loadSharedLibrary, readCString } from '@app/ffi';
import type { LibraryHandle } from 'koffi';
import { CallStatsWriter } from '../nvml.call-stats.js';
import {
  type NvmlCallError,
  NvmlError,
  NvmlLibraryLoadError,
} from '../nvml.errors.js';
import { NVML_DEVICE_FAILURES, NvmlReturn, nvmlReturnName, nvmlReturnText } from '../nvml.return-codes.js';
import type {
  NvmlDeviceEnumerationFailure,
  NvmlDeviceIdentity,
  NvmlDeviceReadings,
  NvmlDeviceSample,
  NvmlEvent,
  NvmlLibraryInfo,
  NvmlMigDeviceIdentity,
  NvmlMigDeviceReadings,
  NvmlProcess,
  NvmlReadingName,
  NvmlSystemInfo,
} from '../nvml.types.js';
import {
  NVML_MEMORY_V2_VERSION,
  NvmlEventData,
  NvmlMemoryV2,
  NvmlPciInfo,
  NvmlProcessInfo,
  NvmlProcessInfoV1,
  off,
} from './nvml.structs.js';
import { FN_INDEX, NVML_FUNCTIONS, type Op, OPS, PROTOTYPES, SYMBOLS } from './nvml.symbols.js';
import { emptyReadings } from '../nvml.readings.js';

const NVML_TEMPERATURE_GPU = 0;
const NVML_TEMPERATURE_THRESHOLD_SHUTDOWN = 0;
const NVML_TEMPERATURE_THRESHOLD_SLOWDOWN = 1;
const NVML_CLOCK_SM = 1;
const NVML_CLOCK_MEM = 2;
const NVML_MEMORY_ERROR_TYPE_CORRECTED = 0;
const NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1;
const NVML_VOLATILE_ECC = 0;
const NVML_AGGREGATE_ECC = 1;
const NVML_PSTATE_UNKNOWN = 32;
const NVML_VALUE_NOT_AVAILABLE = 0xffffffffffffffffn;
const NO_INSTANCE_ID = 0xffffffff;
const STRING_BUFFER_BYTES = 96; // NVML_DEVICE_UUID_V2_BUFFER_SIZE / NVML_DEVICE_NAME_V2_BUFFER_SIZE
const INITIAL_PROCESS_CAPACITY = 64;

type Fn = (...args: unknown[]) => unknown;

interface Bound {
  fn: Fn;
  symbol: string;
  index: number;
}

/** Thrown inside a sample when a device-wide failure stops it. */
class DeviceFailure {
  constructor(readonly error: NvmlCallError) {}
}

/** Options for loading the library. */
export interface NvmlLibraryOptions {
  /** Path from `NVML_LIBRARY_PATH`; when unset the dynamic loader resolves `libnvidia-ml.so.1`. */
  libraryPath?: string | null;
  /** Statistics block this thread writes to. */
  statsBuffer?: SharedArrayBuffer;
}

/**
 * Synchronous binding of NVIDIA's `libnvidia-ml.so.1` through koffi. Every call blocks the calling
 * thread, so it is only used from worker threads (see NvmlWorkerPool). Device handles never leave
 * this class: devices are addressed by UUID. Out-parameters are preallocated typed arrays.
 */
export class NvmlLibrary {
  readonly info: NvmlLibraryInfo;
  private readonly bound: Partial<Record<Op, Bound>> = {};
  private readonly stats: CallStatsWriter | null;
  private readonly handles = new Map<string, bigint>();
  private readonly uuidsByHandle = new Map<bigint, string>();

  // Preallocated out-parameters, reused by every call on this thread.
  private readonly u32 = new Uint32Array(4);
  private readonly u32b = new Uint32Array(1);
  private readonly u32c = new Uint32Array(1);
  private readonly u32d = new Uint32Array(1);
  private readonly i32 = new Int32Array(2);
  private readonly i32b = new Int32Array(1);
  private readonly u64 = new BigUint64Array(1);
  private readonly ptr = new BigUint64Array(1);
  private readonly text = Buffer.alloc(STRING_BUFFER_BYTES);
  private readonly pci = Buffer.alloc(NvmlPciInfo.size);
  private readonly memory = Buffer.alloc(NvmlMemoryV2.size);
  private readonly memoryView = new DataView(this.memory.buffer, this.memory.byteOffset, this.memory.byteLength);
  private readonly event = Buffer.alloc(NvmlEventData.size);
  private readonly eventView = new DataView(this.event.buffer, this.event.byteOffset, this.event.byteLength);
  private processes = Buffer.alloc(NvmlProcessInfo.size * INITIAL_PROCESS_CAPACITY);

  private constructor(
    private readonly lib: LibraryHandle,
    path: string,
    statsBuffer: SharedArrayBuffer | undefined,
  ) {
    for (const op of OPS) {
      for (const symbol of SYMBOLS[op]) {
        const fn = bindOptional(lib, PROTOTYPES[op].replace('%', symbol));
        if (fn) {
          this.bound[op] = { fn, symbol, index: FN_INDEX.get(symbol)! };
          break;
        }
      }
    }
    this.stats = statsBuffer ? new CallStatsWriter(statsBuffer, NVML_FUNCTIONS) : null;
    this.info = { path, simulator: describeSimulator(lib) };
  }

  /**
   * Loads the library: `libraryPath` if given (and nothing else), else `libnvidia-ml.so.1`
   * through the dynamic loader. A CUDA toolkit `stubs/` copy is refused.
   * @throws NvmlLibraryLoadError listing every path tried with the loader's text.
   */
  static load(options: NvmlLibraryOptions = {}): NvmlLibrary {
    const loaded = loadSharedLibrary(options.libraryPath ? [options.libraryPath] : ['libnvidia-ml.so.1'], (lib) =>
      bindOptional(lib, PROTOTYPES.init.replace('%', 'nvmlInit_v2')) ? null : 'not an NVML library: nvmlInit_v2 is missing',
    );
    if ('attempts' in loaded) throw new NvmlLibraryLoadError(loaded.attempts);
    return new NvmlLibrary(loaded.lib, loaded.path, options.statsBuffer);
  }

  /** Which symbol serves each operation (e.g. memory → nvmlDeviceGetMemoryInfo_v2), for diagnostics. */
  get symbols(): Record<string, string | null> {
    return Object.fromEntries(OPS.map((op) => [op, this.bound[op]?.symbol ?? null]));
  }

  /**
   * `nvmlInit_v2`. NVML reference-counts initialisation itself; handles cached before are dropped.
   * @throws NvmlError (e.g. NVML_ERROR_DRIVER_NOT_LOADED, NVML_ERROR_LIB_RM_VERSION_MISMATCH).
   */
  init(): void {
    this.handles.clear();
    this.uuidsByHandle.clear();
    this.check('init', this.call0('init'));
  }

  /** `nvmlShutdown`. @throws NvmlError */
  shutdown(): void {
    this.handles.clear();
    this.uuidsByHandle.clear();
    this.check('shutdown', this.call0('shutdown'));
  }

  /**
   * Driver, NVML and CUDA driver versions (`nvmlSystemGetDriverVersion`,
   * `nvmlSystemGetNVMLVersion`, `nvmlSystemGetCudaDriverVersion_v2`).
   * @throws NvmlError when a version cannot be read.
   */
  systemInfo(): NvmlSystemInfo {
    this.check('driverVersion', this.call2('driverVersion', this.text, STRING_BUFFER_BYTES));
    const driverVersion = readCString(this.text);
    this.check('nvmlVersion', this.call2('nvmlVersion', this.text, STRING_BUFFER_BYTES));
    const nvmlVersion = readCString(this.text);
    const rc = this.call1('cudaVersion', this.i32);
    const v = this.i32[0]!;
    const cudaDriverVersion = rc === 0 ? `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}` : null;
    return { driverVersion, nvmlVersion, cudaDriverVersion };
  }

  /** `nvmlDeviceGetCount_v2`. @throws NvmlError */
  deviceCount(): number {
    this.check('count', this.call1('count', this.u32));
    return this.u32[0]!;
  }

  /**
   * Enumerates every device NVML sees, in NVML index order, with its static identity. A device
   * whose handle, UUID or name cannot be read is returned as a failure, never thrown.
   * @throws NvmlError when the device count itself fails.
   */
  listDevices(): Array<NvmlDeviceIdentity | NvmlDeviceEnumerationFailure> {
    const count = this.deviceCount();
    const out: Array<NvmlDeviceIdentity | NvmlDeviceEnumerationFailure> = [];
    for (let index = 0; index < count; index++) {
      try {
        out.push(this.identify(index));
      } catch (error) {
        if (error instanceof NvmlError) out.push({ index, failure: error.toJSON() });
        else throw error;
      }
    }
    return out;
  }

  /**
   * Reads every dynamic value of one GPU (memory, temperature, power, utilization, clocks, ECC,
   * remapped rows, MIG, processes). Unavailable readings are null with the reason in `errors`;
   * a device-wide failure (lost GPU, unknown error) stops the sample and is set in `failure`.
   * Never throws for NVML return codes.
   */
  sampleDevice(uuid: string): NvmlDeviceSample {
    const startedAt = performance.now();
    const sampledAtMs = Date.now();
    const readings = emptyReadings();
    const errors: NvmlDeviceSample['errors'] = {};
    let failure: NvmlCallError | null = null;
    try {
      const h = this.handle(uuid);
      this.readMemory(h, readings, errors);
      this.readU32(h, 'temperature', 'temperatureCelsius', readings, errors, NVML_TEMPERATURE_GPU);
      this.readU32(h, 'temperatureThreshold', 'temperatureSlowdownCelsius', readings, errors, NVML_TEMPERATURE_THRESHOLD_SLOWDOWN);
      this.readU32(h, 'temperatureThreshold', 'temperatureShutdownCelsius', readings, errors, NVML_TEMPERATURE_THRESHOLD_SHUTDOWN);
      this.readU32(h, 'powerUsage', 'powerUsageMilliwatts', readings, errors);
      this.readU32(h, 'powerLimit', 'powerLimitMilliwatts', readings, errors);
      if (this.field(this.call2('energy', h, this.u64), 'energy', 'energyConsumedMillijoules', errors)) {
        readings.energyConsumedMillijoules = Number(this.u64[0]);
      }
      this.readMig(h, readings, errors);
      this.readUtilization(h, readings, errors);
      if (this.field(this.call2('pstate', h, this.u32), 'pstate', 'performanceState', errors)) {
        const p = this.u32[0]!;
        if (p === NVML_PSTATE_UNKNOWN) errors.performanceState = callError(NvmlReturn.NO_DATA, this.symbol('pstate'));
        else readings.performanceState = p;
      }
      if (this.field(this.call2('clockEvents', h, this.u64), 'clockEvents', 'clockEventReasons', errors)) {
        readings.clockEventReasons = Number(this.u64[0]);
      }
      this.readU32(h, 'clock', 'smClockMhz', readings, errors, NVML_CLOCK_SM);
      this.readU32(h, 'clock', 'memoryClockMhz', readings, errors, NVML_CLOCK_MEM);
      this.readU32(h, 'fan', 'fanSpeedPercent', readings, errors);
      if (this.field(this.call3('eccMode', h, this.u32, this.u32b), 'eccMode', 'eccEnabled', errors)) {
        readings.eccEnabled = this.u32[0] === 1;
      }
      if (readings.eccEnabled !== false) {
        this.readEcc(h, NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_VOLATILE_ECC, 'eccVolatileUncorrected', readings, errors);
        this.readEcc(h, NVML_MEMORY_ERROR_TYPE_CORRECTED, NVML_VOLATILE_ECC, 'eccVolatileCorrected', readings, errors);
        this.readEcc(h, NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_AGGREGATE_ECC, 'eccAggregateUncorrected', readings, errors);
      } else {
        const disabled = callError(NvmlReturn.NOT_SUPPORTED, this.symbol('eccCount'), 'ECC is disabled');
        errors.eccVolatileUncorrected = disabled;
        errors.eccVolatileCorrected = disabled;
        errors.eccAggregateUncorrected = disabled;
      }
      this.readRemappedRows(h, readings, errors);
      this.readProcesses(h, readings, errors);
    } catch (error) {
      if (!(error instanceof DeviceFailure)) throw error;
      failure = error.error;
      Object.assign(readings, emptyReadings());
      for (const key of Object.keys(errors)) delete errors[key as NvmlReadingName];
      this.forget(uuid);
    }
    return { uuid, sampledAtMs, durationMs: performance.now() - startedAt, readings, errors, failure };
  }

  /**
   * Creates an event set (`nvmlEventSetCreate`) and registers each GPU for the `nvmlEventType*`
   * bits it supports (`nvmlDeviceGetSupportedEventTypes`, `nvmlDeviceRegisterEvents`). Returns an
   * id for `waitEvent`, the GPUs registered and, for the others, why not.
   * @throws NvmlError when the set cannot be created.
   */
  createEventSet(
    eventTypes: number,
    uuids: readonly string[],
  ): { set: number; registered: string[]; unsupported: Record<string, NvmlCallError> } {
    this.check('eventSetCreate', this.call1('eventSetCreate', this.ptr));
    const set = this.ptr[0]!;
    const registered: string[] = [];
    const unsupported: Record<string, NvmlCallError> = {};
    for (const uuid of uuids) {
      let h: bigint;
      try {
        h = this.handle(uuid);
      } catch (error) {
        if (!(error instanceof DeviceFailure)) throw error;
        unsupported[uuid] = error.error;
        continue;
      }
      let rc = this.call2('supportedEvents', h, this.u64);
      const wanted = rc === 0 ? BigInt(eventTypes) & this.u64[0]! : 0n;
      let op: Op = 'supportedEvents';
      if (rc === 0 && wanted === 0n) rc = NvmlReturn.NOT_SUPPORTED;
      if (rc === 0) {
        op = 'registerEvents';
        rc = this.call3('registerEvents', h, wanted, set);
      }
      if (rc === 0) registered.push(uuid);
      else unsupported[uuid] = callError(rc, this.symbol(op), this.errorText(rc));
    }
    const id = this.nextEventSet++;
    this.eventSets.set(id, set);
    return { set: id, registered, unsupported };
  }

  /**
   * Waits up to `timeoutMs` for one event (`nvmlEventSetWait_v2`); null on NVML_ERROR_TIMEOUT.
   * @throws NvmlError on any other failure.
   */
  waitEvent(set: number, timeoutMs: number): NvmlEvent | null {
    const handle = this.eventSets.get(set);
    if (handle === undefined) throw new NvmlError(NvmlReturn.INVALID_ARGUMENT, this.symbol('eventSetWait'), 'unknown event set');
    const rc = this.call3('eventSetWait', handle, this.event, timeoutMs);
    if (rc === NvmlReturn.TIMEOUT) return null;
    this.check('eventSetWait', rc);
    const v = this.eventView;
    const device = v.getBigUint64(off(NvmlEventData, 'device'), true);
    const gi = v.getUint32(off(NvmlEventData, 'gpuInstanceId'), true);
    const ci = v.getUint32(off(NvmlEventData, 'computeInstanceId'), true);
    return {
      uuid: this.uuidsByHandle.get(device) ?? this.uuidOf(device),
      eventType: Number(v.getBigUint64(off(NvmlEventData, 'eventType'), true)),
      xid: Number(v.getBigUint64(off(NvmlEventData, 'eventData'), true)),
      gpuInstanceId: gi === NO_INSTANCE_ID ? null : gi,
      computeInstanceId: ci === NO_INSTANCE_ID ? null : ci,
      receivedAtMs: Date.now(),
    };
  }

  /** `nvmlEventSetFree`. */
  freeEventSet(set: number): void {
    const handle = this.eventSets.get(set);
    if (handle === undefined) return;
    this.eventSets.delete(set);
    this.check('eventSetFree', this.call1('eventSetFree', handle));
  }

  private nextEventSet = 1;
  private readonly eventSets = new Map<number, bigint>();

  // ---------------------------------------------------------------------------------------------

  private identify(index: number): NvmlDeviceIdentity {
    this.check('handleByIndex', this.call2('handleByIndex', index, this.ptr));
    const h = this.ptr[0]!;
    const uuid = this.uuidOf(h);
    this.check('name', this.call3('name', h, this.text, STRING_BUFFER_BYTES));
    const name = readCString(this.text);
    this.check('pciInfo', this.call2('pciInfo', h, this.pci));
    const pciBusId = readCString(this.pci.subarray(off(NvmlPciInfo, 'busId')));
    this.handles.set(uuid, h);
    this.uuidsByHandle.set(h, uuid);

    const errors: NvmlDeviceIdentity['errors'] = {};
    let serial: string | null = null;
    let rc = this.call3('serial', h, this.text, STRING_BUFFER_BYTES);
    if (rc === 0) serial = readCString(this.text);
    else errors.serial = this.softError('serial', rc);

    let computeCapability: NvmlDeviceIdentity['computeCapability'] = null;
    rc = this.call3('computeCapability', h, this.i32, this.i32b);
    if (rc === 0) computeCapability = { major: this.i32[0]!, minor: this.i32b[0]! };
    else errors.computeCapability = this.softError('computeCapability', rc);

    const readings = emptyReadings();
    const sampleErrors: NvmlDeviceSample['errors'] = {};
    this.readMemory(h, readings, sampleErrors, true);
    if (sampleErrors.memoryTotalBytes) errors.memoryTotalBytes = sampleErrors.memoryTotalBytes;

    let migEnabled: boolean | null = null;
    let migDevices: NvmlMigDeviceIdentity[] = [];
    rc = this.call3('migMode', h, this.u32, this.u32b);
    if (rc === 0) {
      migEnabled = this.u32[0] === 1;
      if (migEnabled) {
        try {
          migDevices = this.migIdentities(h);
        } catch (error) {
          if (!(error instanceof NvmlError)) throw error;
          errors.migDevices = error.toJSON();
        }
      }
    } else errors.migEnabled = this.softError('migMode', rc);

    return {
      index,
      uuid,
      name,
      serial,
      pciBusId,
      computeCapability,
      memoryTotalBytes: readings.memoryTotalBytes,
      migEnabled,
      migDevices,
      errors,
    };
  }

  private migIdentities(parent: bigint): NvmlMigDeviceIdentity[] {
    const out: NvmlMigDeviceIdentity[] = [];
    for (const [index, h] of this.migHandles(parent)) {
      const uuid = this.uuidOf(h);
      const name = this.call3('name', h, this.text, STRING_BUFFER_BYTES) === 0 ? readCString(this.text) : null;
      const gpuInstanceId = this.call2('gpuInstanceId', h, this.u32) === 0 ? this.u32[0]! : null;
      const computeInstanceId = this.call2('computeInstanceId', h, this.u32) === 0 ? this.u32[0]! : null;
      const readings = emptyReadings();
      this.readMemory(h, readings, {}, true);
      out.push({ uuid, index, name, gpuInstanceId, computeInstanceId, memoryTotalBytes: readings.memoryTotalBytes });
      this.handles.set(uuid, h);
      this.uuidsByHandle.set(h, uuid);
    }
    return out;
  }

  /** [index, handle] of each populated MIG slot. @throws NvmlError */
  private migHandles(parent: bigint): Array<[number, bigint]> {
    this.check('maxMigCount', this.call2('maxMigCount', parent, this.u32));
    const max = this.u32[0]!;
    const out: Array<[number, bigint]> = [];
    for (let i = 0; i < max; i++) {
      const rc = this.call3('migHandle', parent, i, this.ptr);
      if (rc === NvmlReturn.NOT_FOUND) continue;
      this.check('migHandle', rc);
      out.push([i, this.ptr[0]!]);
    }
    return out;
  }

  private handle(uuid: string): bigint {
    const cached = this.handles.get(uuid);
    if (cached !== undefined) return cached;
    const rc = this.call2('handleByUuid', uuid, this.ptr);
    if (rc !== 0) throw new DeviceFailure(callError(rc, this.symbol('handleByUuid'), this.errorText(rc)));
    const h = this.ptr[0]!;
    this.handles.set(uuid, h);
    this.uuidsByHandle.set(h, uuid);
    return h;
  }

  private forget(uuid: string): void {
    const h = this.handles.get(uuid);
    this.handles.delete(uuid);
    if (h !== undefined) this.uuidsByHandle.delete(h);
  }

  private uuidOf(h: bigint): string {
    this.check('uuid', this.call3('uuid', h, this.text, STRING_BUFFER_BYTES));
    return readCString(this.text);
  }

  private readMemory(h: bigint, r: NvmlDeviceReadings, errors: NvmlDeviceSample['errors'], soft = false): void {
    const v = this.memoryView;
    if (this.bound.memoryV2) {
      v.setUint32(0, NVML_MEMORY_V2_VERSION, true);
      const rc = this.call2('memoryV2', h, this.memory);
      if (rc === 0) {
        r.memoryTotalBytes = Number(v.getBigUint64(off(NvmlMemoryV2, 'total'), true));
        r.memoryReservedBytes = Number(v.getBigUint64(off(NvmlMemoryV2, 'reserved'), true));
        r.memoryFreeBytes = Number(v.getBigUint64(off(NvmlMemoryV2, 'free'), true));
        r.memoryUsedBytes = Number(v.getBigUint64(off(NvmlMemoryV2, 'used'), true));
        return;
      }
      if (rc !== NvmlReturn.FUNCTION_NOT_FOUND && rc !== NvmlReturn.ARGUMENT_VERSION_MISMATCH) {
        this.memoryUnavailable(rc, 'memoryV2', errors, soft);
        return;
      }
    }
    // Older drivers: v1 counts the reserved memory as used and cannot split it out.
    const rc = this.call2('memoryV1', h, this.memory);
    if (rc !== 0) {
      this.memoryUnavailable(rc, 'memoryV1', errors, soft);
      return;
    }
    r.memoryTotalBytes = Number(v.getBigUint64(0, true));
    r.memoryFreeBytes = Number(v.getBigUint64(8, true));
    r.memoryUsedBytes = Number(v.getBigUint64(16, true));
    errors.memoryReservedBytes = callError(NvmlReturn.FUNCTION_NOT_FOUND, 'nvmlDeviceGetMemoryInfo_v2');
  }

  private memoryUnavailable(rc: number, op: Op, errors: NvmlDeviceSample['errors'], soft: boolean): void {
    const error = callError(rc, this.symbol(op), this.errorText(rc));
    if (!soft && NVML_DEVICE_FAILURES.has(rc)) throw new DeviceFailure(error);
    errors.memoryTotalBytes = error;
    errors.memoryReservedBytes = error;
    errors.memoryUsedBytes = error;
    errors.memoryFreeBytes = error;
  }

  private readU32(
    h: bigint,
    op: Op,
    key: NvmlReadingName,
    r: NvmlDeviceReadings,
    errors: NvmlDeviceSample['errors'],
    arg?: number,
  ): void {
    const rc = arg === undefined ? this.call2(op, h, this.u32) : this.call3(op, h, arg, this.u32);
    if (this.field(rc, op, key, errors)) (r as unknown as Record<string, number>)[key] = this.u32[0]!;
  }

  private readUtilization(h: bigint, r: NvmlDeviceReadings, errors: NvmlDeviceSample['errors']): void {
    const rc = this.call2('utilization', h, this.u32);
    if (rc === 0) {
      r.utilizationGpuPercent = this.u32[0]!;
      r.utilizationMemoryPercent = this.u32[1]!;
      return;
    }
    this.field(rc, 'utilization', 'utilizationGpuPercent', errors);
    errors.utilizationMemoryPercent = errors.utilizationGpuPercent;
  }

  private readEcc(
    h: bigint,
    errorType: number,
    counterType: number,
    key: 'eccVolatileUncorrected' | 'eccVolatileCorrected' | 'eccAggregateUncorrected',
    r: NvmlDeviceReadings,
    errors: NvmlDeviceSample['errors'],
  ): void {
    const rc = this.call4('eccCount', h, errorType, counterType, this.u64);
    if (this.field(rc, 'eccCount', key, errors)) r[key] = Number(this.u64[0]);
  }

  private readRemappedRows(h: bigint, r: NvmlDeviceReadings, errors: NvmlDeviceSample['errors']): void {
    const rc = this.call5('remappedRows', h, this.u32, this.u32b, this.u32c, this.u32d);
    if (rc === 0) {
      r.remappedRowsCorrectable = this.u32[0]!;
      r.remappedRowsUncorrectable = this.u32b[0]!;
      r.remappedRowsPending = this.u32c[0] !== 0;
      r.remappedRowsFailure = this.u32d[0] !== 0;
      return;
    }
    this.field(rc, 'remappedRows', 'remappedRowsCorrectable', errors);
    const e = errors.remappedRowsCorrectable;
    errors.remappedRowsUncorrectable = e;
    errors.remappedRowsPending = e;
    errors.remappedRowsFailure = e;
  }

  private readMig(h: bigint, r: NvmlDeviceReadings, errors: NvmlDeviceSample['errors']): void {
    const rc = this.call3('migMode', h, this.u32, this.u32b);
    if (!this.field(rc, 'migMode', 'migEnabled', errors)) return;
    r.migEnabled = this.u32[0] === 1;
    if (!r.migEnabled) return;
    let handles: Array<[number, bigint]>;
    try {
      handles = this.migHandles(h);
    } catch (error) {
      if (!(error instanceof NvmlError)) throw error;
      if (NVML_DEVICE_FAILURES.has(error.code)) throw new DeviceFailure(error.toJSON());
      errors.migDevices = error.toJSON();
      return;
    }
    for (const [, mh] of handles) {
      let uuid = this.uuidsByHandle.get(mh);
      if (uuid === undefined) {
        const uuidRc = this.call3('uuid', mh, this.text, STRING_BUFFER_BYTES);
        if (uuidRc !== 0) {
          const error = callError(uuidRc, this.symbol('uuid'), this.errorText(uuidRc));
          if (NVML_DEVICE_FAILURES.has(uuidRc)) throw new DeviceFailure(error);
          errors.migDevices = error;
          continue;
        }
        uuid = readCString(this.text);
        this.uuidsByHandle.set(mh, uuid);
      }
      const m = emptyReadings();
      this.readMemory(mh, m, {}, true);
      const mig: NvmlMigDeviceReadings = {
        uuid,
        memoryTotalBytes: m.memoryTotalBytes,
        memoryUsedBytes: m.memoryUsedBytes,
        memoryFreeBytes: m.memoryFreeBytes,
      };
      r.migDevices.push(mig);
    }
  }

  private readProcesses(h: bigint, r: NvmlDeviceReadings, errors: NvmlDeviceSample['errors']): void {
    const v3 = this.bound.processesV3 !== undefined;
    const op: Op = v3 ? 'processesV3' : 'processesV1';
    const stride = v3 ? NvmlProcessInfo.size : NvmlProcessInfoV1.size;
    for (let attempt = 0; attempt < 3; attempt++) {
      const capacity = Math.floor(this.processes.length / stride);
      this.u32[0] = capacity;
      const rc = this.call3(op, h, this.u32, this.processes);
      if (rc === NvmlReturn.INSUFFICIENT_SIZE) {
        this.processes = Buffer.alloc(stride * Math.max(capacity * 2, this.u32[0]! + 16));
        continue;
      }
      if (!this.field(rc, op, 'processes', errors)) return;
      const count = this.u32[0]!;
      const view = new DataView(this.processes.buffer, this.processes.byteOffset, this.processes.byteLength);
      const list: NvmlProcess[] = [];
      const memOffset = off(NvmlProcessInfo, 'usedGpuMemory');
      for (let i = 0; i < count; i++) {
        const base = i * stride;
        const used = view.getBigUint64(base + memOffset, true);
        const gi = v3 ? view.getUint32(base + off(NvmlProcessInfo, 'gpuInstanceId'), true) : NO_INSTANCE_ID;
        const ci = v3 ? view.getUint32(base + off(NvmlProcessInfo, 'computeInstanceId'), true) : NO_INSTANCE_ID;
        list.push({
          pid: view.getUint32(base, true),
          usedMemoryBytes: used === NVML_VALUE_NOT_AVAILABLE ? null : Number(used),
          gpuInstanceId: gi === NO_INSTANCE_ID ? null : gi,
          computeInstanceId: ci === NO_INSTANCE_ID ? null : ci,
        });
      }
      r.processes = list;
      return;
    }
    errors.processes = callError(NvmlReturn.INSUFFICIENT_SIZE, this.symbol(op));
  }

  /**
   * Records a per-reading result: true on success; a device-wide failure throws DeviceFailure;
   * anything else becomes the reading's error.
   */
  private field(rc: number, op: Op, key: NvmlReadingName, errors: NvmlDeviceSample['errors']): boolean {
    if (rc === 0) return true;
    const error = callError(rc, this.symbol(op), this.errorText(rc));
    if (NVML_DEVICE_FAILURES.has(rc)) throw new DeviceFailure(error);
    errors[key] = error;
    return false;
  }

  private softError(op: Op, rc: number): NvmlCallError {
    return callError(rc, this.symbol(op), this.errorText(rc));
  }

  private check(op: Op, rc: number): void {
    if (rc !== 0) throw new NvmlError(rc, this.symbol(op), this.errorText(rc));
  }

  private symbol(op: Op): string {
    return this.bound[op]?.symbol ?? SYMBOLS[op][0];
  }

  private errorText(rc: number): string {
    if (rc === NvmlReturn.FUNCTION_NOT_FOUND) return nvmlReturnText(rc);
    const bound = this.bound.errorString;
    if (!bound) return nvmlReturnText(rc);
    const text = bound.fn(rc);
    return typeof text === 'string' && text.length > 0 ? text : nvmlReturnText(rc);
  }

  // Calls with a fixed number of arguments, so no argument array is allocated per call.
  private call0(op: Op): number {
    const b = this.bound[op];
    if (!b) return NvmlReturn.FUNCTION_NOT_FOUND;
    const t = this.stats?.enter(b.index) ?? 0;
    const rc = b.fn() as number;
    this.stats?.leave(b.index, t, rc);
    return rc;
  }

  private call1(op: Op, a: unknown): number {
    const b = this.bound[op];
    if (!b) return NvmlReturn.FUNCTION_NOT_FOUND;
    const t = this.stats?.enter(b.index) ?? 0;
    const rc = b.fn(a) as number;
    this.stats?.leave(b.index, t, rc);
    return rc;
  }

  private call2(op: Op, a: unknown, b2: unknown): number {
    const b = this.bound[op];
    if (!b) return NvmlReturn.FUNCTION_NOT_FOUND;
    const t = this.stats?.enter(b.index) ?? 0;
    const rc = b.fn(a, b2) as number;
    this.stats?.leave(b.index, t, rc);
    return rc;
  }

  private call3(op: Op, a: unknown, b2: unknown, c: unknown): number {
    const b = this.bound[op];
    if (!b) return NvmlReturn.FUNCTION_NOT_FOUND;
    const t = this.stats?.enter(b.index) ?? 0;
    const rc = b.fn(a, b2, c) as number;
    this.stats?.leave(b.index, t, rc);
    return rc;
  }

  private call4(op: Op, a: unknown, b2: unknown, c: unknown, d: unknown): number {
    const b = this.bound[op];
    if (!b) return NvmlReturn.FUNCTION_NOT_FOUND;
    const t = this.stats?.enter(b.index) ?? 0;
    const rc = b.fn(a, b2, c, d) as number;
    this.stats?.leave(b.index, t, rc);
    return rc;
  }

  private call5(op: Op, a: unknown, b2: unknown, c: unknown, d: unknown, e: unknown): number {
    const b = this.bound[op];
    if (!b) return NvmlReturn.FUNCTION_NOT_FOUND;
    const t = this.stats?.enter(b.index) ?? 0;
    const rc = b.fn(a, b2, c, d, e) as number;
    this.stats?.leave(b.index, t, rc);
    return rc;
  }
}


function describeSimulator(lib: LibraryHandle): NvmlLibraryInfo['simulator'] {
  const describe = bindOptional(lib, 'const char *gpuSimDescribe()');
  if (!describe) return null;
  try {
    const parsed = JSON.parse(String(describe())) as { preset?: string | null; scenario?: string | null };
    return { preset: parsed.preset ?? null, scenario: parsed.scenario ?? null };
  } catch {
    return { preset: null, scenario: null };
  }
}




function callError(code: number, fn: string, message: string = nvmlReturnText(code)): NvmlCallError {
  return { code, name: nvmlReturnName(code), fn, message };
}

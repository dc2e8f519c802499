import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Built-in presets (files in libs/gpu-sim/presets, also compiled into the libraries). */
export const PRESET_NAMES = ['h200', 'h100x8', 'a100-mig', 'gh200', 'empty', 'mixed-order', 'h200x16'] as const;
export type SimPresetName = (typeof PRESET_NAMES)[number];

/** A reading the driver does not have: the NVML call answers NVML_ERROR_NOT_SUPPORTED (3). */
export type SimUnsupported = 'unsupported';
/** Bytes as a number, a bigint or a string with a unit: `'81559MiB'`, `'80GiB'`, `'40GB'`. */
export type SimBytes = number | bigint | string;
/** A return code by number or by name (`'NVML_ERROR_GPU_IS_LOST'`, `'CUDA_ERROR_OUT_OF_MEMORY'`). */
export type SimReturnCode = number | string;

export interface SimSystem {
  driverVersion?: string;
  nvmlVersion?: string;
  /** e.g. 13000 for CUDA 13.0 */
  cudaDriverVersion?: number;
  /** Keeps only the first N GPUs defined so far (e.g. of a preset). */
  gpuCount?: number;
}

export interface SimMigDevice {
  /** MIG device index on its GPU; defaults to the position in `migDevices`. */
  index?: number;
  uuid?: string;
  name?: string;
  memoryTotalBytes?: SimBytes;
  memoryReservedBytes?: SimBytes;
  memoryUsedBytes?: SimBytes;
  gpuInstanceId?: number;
  computeInstanceId?: number;
  multiprocessorCount?: number;
}

export interface SimProcess {
  pid: number;
  usedMemoryBytes: SimBytes;
  gpuInstanceId?: number;
  computeInstanceId?: number;
}

export interface SimGpu {
  /** Scenario index; defaults to the position in `gpus`. An index equal to the current count adds a GPU. */
  index?: number;
  /** Copy the model (all values, MIG devices, processes) of another GPU, keeping this one's identity. */
  like?: number;
  name?: string;
  uuid?: string;
  serial?: string;
  pciBusId?: string;
  pciDeviceId?: number;
  pciSubsystemId?: number;
  minorNumber?: number;
  /** NVML architecture number or name (`'hopper'`, `'ampere'`, ...). */
  architecture?: number | string;
  /** `'9.0'` */
  computeCapability?: string;
  multiprocessorCount?: number;
  memoryTotalBytes?: SimBytes | SimUnsupported;
  memoryReservedBytes?: SimBytes;
  memoryUsedBytes?: SimBytes;
  /** cuDeviceTotalMem; defaults to total - reserved. */
  cudaMemoryTotalBytes?: SimBytes | SimUnsupported;
  temperatureCelsius?: number | SimUnsupported;
  temperatureShutdownCelsius?: number | SimUnsupported;
  temperatureSlowdownCelsius?: number | SimUnsupported;
  temperatureMemoryMaxCelsius?: number | SimUnsupported;
  temperatureGpuMaxCelsius?: number | SimUnsupported;
  temperatureAcousticMinCelsius?: number | SimUnsupported;
  temperatureAcousticCurrentCelsius?: number | SimUnsupported;
  temperatureAcousticMaxCelsius?: number | SimUnsupported;
  temperatureGpsCurrentCelsius?: number | SimUnsupported;
  powerUsageMilliwatts?: number | SimUnsupported;
  powerLimitMilliwatts?: number | SimUnsupported;
  totalEnergyMillijoules?: number | SimUnsupported;
  utilizationGpuPercent?: number | SimUnsupported;
  utilizationMemoryPercent?: number | SimUnsupported;
  /** 0..15 or `'P0'`..`'P15'` */
  performanceState?: number | string | SimUnsupported;
  clockEventReasons?: number | bigint;
  clockSmMhz?: number | SimUnsupported;
  clockMemoryMhz?: number | SimUnsupported;
  clockGraphicsMhz?: number | SimUnsupported;
  clockVideoMhz?: number | SimUnsupported;
  /** Absent: no fan (nvmlDeviceGetFanSpeed answers Not Supported, nvmlDeviceGetNumFans 0). */
  fanSpeedPercent?: number | SimUnsupported;
  fanCount?: number;
  eccCurrent?: boolean | SimUnsupported;
  eccPending?: boolean | SimUnsupported;
  eccVolatileCorrected?: number;
  eccVolatileUncorrected?: number;
  eccAggregateCorrected?: number;
  eccAggregateUncorrected?: number;
  remappedRowsCorrectable?: number | SimUnsupported;
  remappedRowsUncorrectable?: number | SimUnsupported;
  remappedRowsPending?: boolean | SimUnsupported;
  remappedRowsFailure?: boolean | SimUnsupported;
  migCurrent?: boolean | SimUnsupported;
  migPending?: boolean | SimUnsupported;
  migMaxDevices?: number;
  migDevices?: SimMigDevice[];
  /** Replaces the process list ([] clears it). */
  processes?: SimProcess[];
  supportedEventTypes?: number | bigint;
  /** NVML device functions that answer Not Supported on this GPU (replaces the list). */
  unsupported?: string[];
}

/** When a fault acts. Calls count the calls that match its function and GPU. */
export interface SimWindow {
  /** Start after this many matching calls. */
  afterCalls?: number;
  /** End after acting on this many calls. */
  calls?: number;
  /** Start this long after the first nvmlInit_v2 / cuInit of the process. */
  fromMs?: number;
  /** End at this time (same clock as fromMs). */
  untilMs?: number;
  /** Start at this wall-clock time (Date.now() scale). */
  fromEpochMs?: number;
  untilEpochMs?: number;
}

export interface SimFault extends SimWindow {
  /** NVML function name(s), or `'*'` for every function of the library. */
  function: string | readonly string[];
  /** Scenario GPU index or UUID; absent = any call, including those without a GPU. */
  gpu?: number | string;
  returnCode?: SimReturnCode;
  /** Served by sleeping in the calling thread, without holding any lock. */
  delayMs?: number;
}

export interface SimCudaFault extends SimWindow {
  /** CUDA driver function name(s), or `'*'`. */
  function: string | readonly string[];
  gpu?: number | string;
  returnCode?: SimReturnCode;
  delayMs?: number;
  /** cuMemcpyDtoH_v2 succeeds but one byte of the copy comes back flipped. */
  corruptCopy?: boolean;
  /** Which byte (default 0; clamped to the copy). */
  corruptOffset?: number;
}

export interface SimXidEvent {
  gpu: number | string;
  xid: number;
  /** First occurrence, ms after the first nvmlInit_v2 (default 0). */
  atMs?: number;
  /** First occurrence as wall-clock time (Date.now() scale); handy after a reload. */
  atEpochMs?: number;
  /** Occurrences (default 1; 0 = forever). */
  count?: number;
  intervalMs?: number;
  gpuInstanceId?: number;
  computeInstanceId?: number;
}

export interface SimScenario {
  /** Start from a built-in preset. */
  preset?: SimPresetName;
  /** Other scenario files to read first (after the preset), relative to the written file. */
  include?: string[];
  system?: SimSystem;
  gpus?: SimGpu[];
  faults?: SimFault[];
  cudaFaults?: SimCudaFault[];
  xidEvents?: SimXidEvent[];
}

type Scalar = string | number | bigint | boolean;

const GPU_KEYS: ReadonlyArray<readonly [keyof SimGpu, string]> = [
  ['like', 'like'],
  ['name', 'name'],
  ['uuid', 'uuid'],
  ['serial', 'serial'],
  ['pciBusId', 'pci_bus_id'],
  ['pciDeviceId', 'pci_device_id'],
  ['pciSubsystemId', 'pci_subsystem_id'],
  ['minorNumber', 'minor_number'],
  ['architecture', 'architecture'],
  ['computeCapability', 'compute_capability'],
  ['multiprocessorCount', 'multiprocessor_count'],
  ['memoryTotalBytes', 'memory_total'],
  ['memoryReservedBytes', 'memory_reserved'],
  ['memoryUsedBytes', 'memory_used'],
  ['cudaMemoryTotalBytes', 'cuda_memory_total'],
  ['temperatureCelsius', 'temperature_c'],
  ['temperatureShutdownCelsius', 'temperature_shutdown_c'],
  ['temperatureSlowdownCelsius', 'temperature_slowdown_c'],
  ['temperatureMemoryMaxCelsius', 'temperature_memory_max_c'],
  ['temperatureGpuMaxCelsius', 'temperature_gpu_max_c'],
  ['temperatureAcousticMinCelsius', 'temperature_acoustic_min_c'],
  ['temperatureAcousticCurrentCelsius', 'temperature_acoustic_current_c'],
  ['temperatureAcousticMaxCelsius', 'temperature_acoustic_max_c'],
  ['temperatureGpsCurrentCelsius', 'temperature_gps_current_c'],
  ['powerUsageMilliwatts', 'power_mw'],
  ['powerLimitMilliwatts', 'power_limit_mw'],
  ['totalEnergyMillijoules', 'energy_mj'],
  ['utilizationGpuPercent', 'utilization_gpu_percent'],
  ['utilizationMemoryPercent', 'utilization_memory_percent'],
  ['performanceState', 'performance_state'],
  ['clockEventReasons', 'clock_event_reasons'],
  ['clockSmMhz', 'clock_sm_mhz'],
  ['clockMemoryMhz', 'clock_memory_mhz'],
  ['clockGraphicsMhz', 'clock_graphics_mhz'],
  ['clockVideoMhz', 'clock_video_mhz'],
  ['fanSpeedPercent', 'fan_speed_percent'],
  ['fanCount', 'fan_count'],
  ['eccCurrent', 'ecc_current'],
  ['eccPending', 'ecc_pending'],
  ['eccVolatileCorrected', 'ecc_volatile_corrected'],
  ['eccVolatileUncorrected', 'ecc_volatile_uncorrected'],
  ['eccAggregateCorrected', 'ecc_aggregate_corrected'],
  ['eccAggregateUncorrected', 'ecc_aggregate_uncorrected'],
  ['remappedRowsCorrectable', 'remapped_rows_correctable'],
  ['remappedRowsUncorrectable', 'remapped_rows_uncorrectable'],
  ['remappedRowsPending', 'remapped_rows_pending'],
  ['remappedRowsFailure', 'remapped_rows_failure'],
  ['migCurrent', 'mig_current'],
  ['migPending', 'mig_pending'],
  ['migMaxDevices', 'mig_max_devices'],
  ['supportedEventTypes', 'supported_event_types'],
];

const MIG_KEYS: ReadonlyArray<readonly [keyof SimMigDevice, string]> = [
  ['uuid', 'uuid'],
  ['name', 'name'],
  ['memoryTotalBytes', 'memory_total'],
  ['memoryReservedBytes', 'memory_reserved'],
  ['memoryUsedBytes', 'memory_used'],
  ['gpuInstanceId', 'gpu_instance_id'],
  ['computeInstanceId', 'compute_instance_id'],
  ['multiprocessorCount', 'multiprocessor_count'],
];

const HEX_KEYS = new Set(['clock_event_reasons', 'supported_event_types', 'pci_device_id', 'pci_subsystem_id']);

function scalar(key: string, value: Scalar): string {
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if ((typeof value === 'number' || typeof value === 'bigint') && HEX_KEYS.has(key)) {
    return `0x${value.toString(16).toUpperCase()}`;
  }
  const text = String(value);
  if (/[\r\n]/.test(text)) throw new Error(`gpu-sim scenario: ${key} must be a single line`);
  if (typeof value === 'string' && (/\s#/.test(text) || text !== text.trim())) return `"${text}"`;
  return text;
}

function line(key: string, value: Scalar): string {
  return `${key} = ${scalar(key, value)}`;
}

function fnList(fn: string | readonly string[]): string {
  return typeof fn === 'string' ? fn : fn.join(', ');
}

function windowLines(w: SimWindow): string[] {
  const out: string[] = [];
  if (w.afterCalls !== undefined) out.push(line('after_calls', w.afterCalls));
  if (w.calls !== undefined) out.push(line('calls', w.calls));
  if (w.fromMs !== undefined) out.push(line('from_ms', Math.round(w.fromMs)));
  if (w.untilMs !== undefined) out.push(line('until_ms', Math.round(w.untilMs)));
  if (w.fromEpochMs !== undefined) out.push(line('from_epoch_ms', Math.round(w.fromEpochMs)));
  if (w.untilEpochMs !== undefined) out.push(line('until_epoch_ms', Math.round(w.untilEpochMs)));
  return out;
}

function processEntry(p: SimProcess): string {
  const base = `${p.pid}:${String(p.usedMemoryBytes)}`;
  if (p.gpuInstanceId === undefined && p.computeInstanceId === undefined) return base;
  return `${base}:${p.gpuInstanceId ?? 0xffffffff}:${p.computeInstanceId ?? 0xffffffff}`;
}

/** Renders a scenario in the simulator's file format (see libs/gpu-sim/README.md). */
export function renderScenario(s: SimScenario): string {
  const out: string[] = ['# gpu-sim scenario'];
  if (s.preset) out.push(line('preset', s.preset));
  for (const inc of s.include ?? []) out.push(line('include', inc));

  if (s.system) {
    out.push('', '[system]');
    const sys = s.system;
    if (sys.driverVersion !== undefined) out.push(line('driver_version', sys.driverVersion));
    if (sys.nvmlVersion !== undefined) out.push(line('nvml_version', sys.nvmlVersion));
    if (sys.cudaDriverVersion !== undefined) out.push(line('cuda_driver_version', sys.cudaDriverVersion));
    if (sys.gpuCount !== undefined) out.push(line('gpu_count', sys.gpuCount));
  }

  const gpus = (s.gpus ?? []).map((g, i) => ({ g, index: g.index ?? i })).toSorted((a, b) => a.index - b.index);
  for (const { g, index } of gpus) {
    out.push('', `[gpu ${index}]`);
    for (const [prop, key] of GPU_KEYS) {
      const v = g[prop];
      if (v !== undefined) out.push(line(key, v as Scalar));
    }
    if (g.processes) out.push(`processes = ${g.processes.map(processEntry).join(', ')}`);
    if (g.unsupported) out.push(`unsupported = ${g.unsupported.join(', ')}`);
    const migs = (g.migDevices ?? []).map((m, i) => ({ m, mi: m.index ?? i })).toSorted((a, b) => a.mi - b.mi);
    for (const { m, mi } of migs) {
      out.push('', `[gpu ${index} mig ${mi}]`);
      for (const [prop, key] of MIG_KEYS) {
        const v = m[prop];
        if (v !== undefined) out.push(line(key, v as Scalar));
      }
    }
  }

  const faultBody = (f: SimFault | SimCudaFault): string[] => {
    const body = [line('function', fnList(f.function))];
    if (f.gpu !== undefined) body.push(line('gpu', f.gpu));
    if (f.returnCode !== undefined) body.push(line('return', f.returnCode));
    if (f.delayMs !== undefined) body.push(line('delay_ms', Math.round(f.delayMs)));
    return [...body, ...windowLines(f)];
  };
  for (const f of s.faults ?? []) out.push('', '[fault]', ...faultBody(f));
  for (const f of s.cudaFaults ?? []) {
    out.push('', '[cuda_fault]', ...faultBody(f));
    if (f.corruptCopy !== undefined) out.push(line('corrupt_copy', f.corruptCopy));
    if (f.corruptOffset !== undefined) out.push(line('corrupt_offset', f.corruptOffset));
  }

  for (const x of s.xidEvents ?? []) {
    out.push('', '[xid]', line('gpu', x.gpu), line('xid', x.xid));
    if (x.atMs !== undefined) out.push(line('at_ms', Math.round(x.atMs)));
    if (x.atEpochMs !== undefined) out.push(line('at_epoch_ms', Math.round(x.atEpochMs)));
    if (x.count !== undefined) out.push(line('count', x.count));
    if (x.intervalMs !== undefined) out.push(line('interval_ms', Math.round(x.intervalMs)));
    if (x.gpuInstanceId !== undefined) out.push(line('gpu_instance_id', x.gpuInstanceId));
    if (x.computeInstanceId !== undefined) out.push(line('compute_instance_id', x.computeInstanceId));
  }
  return `${out.join('\n')}\n`;
}

/**
 * Writes the scenario to a new file and returns its absolute path: `dir/scenario-<random>.ini`,
 * or a file in a fresh temporary directory when no `dir` is given.
 */
export function writeScenario(s: SimScenario, dir?: string): string {
  const base = dir ?? mkdtempSync(join(tmpdir(), 'gpu-sim-'));
  const path = resolve(base, `scenario-${randomBytes(4).toString('hex')}.ini`);
  writeFileSync(path, renderScenario(s));
  return path;
}

/**
 * Replaces the scenario file atomically (write + rename), so a running library reloads it at its
 * next call (it looks at most every ~50 ms). Handles stay valid; fault clocks keep running.
 */
export function updateScenario(path: string, s: SimScenario): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, renderScenario(s));
  renameSync(tmp, path);
}

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { type NvmlCallError, type NvmlDeviceReadings, type NvmlReadingName, NvmlReturn, nvmlReturnName } from '@app/nvml';
import type { ActiveFinding } from './gpu.health-state.js';
import type { MonitoredGpu } from './gpu.monitor.js';
import { clockEventNames, type GpuReason } from './gpu.policy.js';

/** Why a reading is null. */
export type UnavailableReason =
  | 'not_supported'
  | 'mig_enabled'
  | 'no_permission'
  | 'function_not_found'
  | 'no_data'
  | 'nvml_error';

export interface UnavailableView {
  reason: UnavailableReason;
  nvmlCode: number;
  nvmlName: string;
}

export interface ReasonView {
  reason: GpuReason;
  effect: 'warn' | 'fail';
  since: string;
  detail: string;
  nvmlCode: number | null;
  nvmlName: string | null;
  xid: number | null;
}

export interface ProcessView {
  pid: number;
  /** Process name from this container's /proc; null when the PID is not ours (a host PID). */
  name: string | null;
  usedMemoryBytes: number | null;
}

export interface MigDeviceView {
  uuid: string;
  index: number;
  name: string | null;
  gpuInstanceId: number | null;
  computeInstanceId: number | null;
  /** Selected by CUDA_VISIBLE_DEVICES (or the whole GPU is used). */
  selected: boolean;
  status: GpuViewStatus;
  memoryTotalBytes: number | null;
  memoryUsedBytes: number | null;
  memoryFreeBytes: number | null;
}

/** Every status a GPU can show, in order of increasing trouble. */
export const GPU_VIEW_STATUSES = ['up', 'degraded', 'down', 'lost'] as const;
export type GpuViewStatus = (typeof GPU_VIEW_STATUSES)[number];

type FlatReadings = Omit<NvmlDeviceReadings, 'processes' | 'migDevices' | 'migEnabled'>;

/** One GPU as the API shows it: identity, status with reasons, and every reading. */
export interface GpuView extends FlatReadings {
  uuid: string;
  index: number;
  name: string;
  serial: string | null;
  pciBusId: string;
  computeCapability: string | null;
  status: GpuViewStatus;
  reasons: ReasonView[];
  /** The device-wide NVML error behind `down`/`lost`, if any. */
  nvmlCode: number | null;
  nvmlName: string | null;
  /** When the readings were taken, and their age now, ms. */
  sampledAt: string | null;
  ageMs: number | null;
  clockEventReasonNames: string[] | null;
  processes: ProcessView[] | null;
  mig: { enabled: boolean | null; devices: MigDeviceView[] };
  /** Why each null reading is null, by field name. */
  unavailable: Partial<Record<keyof FlatReadings | 'processes' | 'mig', UnavailableView>>;
}

const READING_KEYS: ReadonlyArray<keyof FlatReadings> = [
  'memoryTotalBytes',
  'memoryReservedBytes',
  'memoryUsedBytes',
  'memoryFreeBytes',
  'temperatureCelsius',
  'temperatureSlowdownCelsius',
  'temperatureShutdownCelsius',
  'powerUsageMilliwatts',
  'powerLimitMilliwatts',
  'energyConsumedMillijoules',
  'utilizationGpuPercent',
  'utilizationMemoryPercent',
  'performanceState',
  'clockEventReasons',
  'smClockMhz',
  'memoryClockMhz',
  'fanSpeedPercent',
  'eccEnabled',
  'eccVolatileUncorrected',
  'eccVolatileCorrected',
  'eccAggregateUncorrected',
  'remappedRowsCorrectable',
  'remappedRowsUncorrectable',
  'remappedRowsPending',
  'remappedRowsFailure',
];

/** A GPU's health in a probe answer: identity, status and why. */
export interface GpuSummary {
  uuid: string;
  index: number;
  name: string;
  status: GpuViewStatus;
  reasons: ReasonView[];
  nvmlCode: number | null;
  nvmlName: string | null;
  sampledAt: string | null;
}

const summaries = new WeakMap<MonitoredGpu, { sample: MonitoredGpu['sample']; revision: number; summary: GpuSummary }>();

/** The probe-sized view of a monitored GPU (built once per sample or change of findings). */
export function gpuSummary(gpu: MonitoredGpu): GpuSummary {
  const cached = summaries.get(gpu);
  if (cached && cached.sample === gpu.sample && cached.revision === gpu.health.revision) return cached.summary;
  const summary = buildSummary(gpu);
  summaries.set(gpu, { sample: gpu.sample, revision: gpu.health.revision, summary });
  return summary;
}

function buildSummary(gpu: MonitoredGpu): GpuSummary {
  const { identity } = gpu.inventory;
  const findings = gpu.health.findings();
  const failure = gpu.sample?.failure ?? null;
  const withCode = findings.find((f) => f.nvmlCode !== undefined);
  return {
    uuid: identity.uuid,
    index: identity.index,
    name: identity.name,
    status: statusOf(gpu),
    reasons: findings.map(reasonView),
    nvmlCode: failure?.code ?? withCode?.nvmlCode ?? null,
    nvmlName: failure?.name ?? (withCode ? (withCode.nvmlName ?? nvmlReturnName(withCode.nvmlCode!)) : null),
    sampledAt: gpu.sample ? new Date(gpu.sample.sampledAtMs).toISOString() : null,
  };
}

function statusOf(gpu: MonitoredGpu): GpuViewStatus {
  return gpu.health.has('gpu_lost') ? 'lost' : gpu.health.status;
}

/** Builds the API view of a monitored GPU. `withProcessNames` reads /proc (for /gpus only). */
export function gpuView(gpu: MonitoredGpu, nowMs: number, withProcessNames = true): GpuView {
  const { identity, selectedMigUuids } = gpu.inventory;
  const summary = gpuSummary(gpu);
  const status = summary.status;
  const sample = gpu.sample;
  const readings = sample && !sample.failure ? sample.readings : null;
  const migEnabled = readings?.migEnabled ?? identity.migEnabled;

  const view = {
    ...summary,
    reasons: [...summary.reasons],
    serial: identity.serial,
    pciBusId: identity.pciBusId,
    computeCapability: identity.computeCapability ? `${identity.computeCapability.major}.${identity.computeCapability.minor}` : null,
    ageMs: sample ? nowMs - sample.sampledAtMs : null,
    clockEventReasonNames: readings?.clockEventReasons != null ? clockEventNames(readings.clockEventReasons) : null,
    processes: readings?.processes ? readings.processes.map((p) => ({ pid: p.pid, name: withProcessNames ? processName(p.pid) : null, usedMemoryBytes: p.usedMemoryBytes })) : null,
    mig: {
      enabled: migEnabled,
      devices: identity.migDevices.map((mig) => {
        const live = readings?.migDevices.find((m) => m.uuid === mig.uuid);
        return {
          uuid: mig.uuid,
          index: mig.index,
          name: mig.name,
          gpuInstanceId: mig.gpuInstanceId,
          computeInstanceId: mig.computeInstanceId,
          selected: selectedMigUuids === null || selectedMigUuids.includes(mig.uuid),
          // A MIG device is as healthy as its parent: a lost parent takes it down.
          status,
          memoryTotalBytes: live?.memoryTotalBytes ?? mig.memoryTotalBytes,
          memoryUsedBytes: live?.memoryUsedBytes ?? null,
          memoryFreeBytes: live?.memoryFreeBytes ?? null,
        };
      }),
    },
    unavailable: {},
  } as GpuView;

  for (const key of READING_KEYS) (view as unknown as Record<string, unknown>)[key] = readings ? readings[key] : null;
  if (readings && sample) {
    for (const [key, error] of Object.entries(sample.errors) as Array<[NvmlReadingName, NvmlCallError]>) {
      if (key === 'migDevices') continue;
      const field = key === 'migEnabled' ? 'mig' : key;
      view.unavailable[field as keyof GpuView['unavailable']] = unavailableView(key, error, migEnabled === true);
    }
  }
  return view;
}

function reasonView(f: ActiveFinding): ReasonView {
  return {
    reason: f.reason,
    effect: f.effect === 'fail' ? 'fail' : 'warn',
    since: new Date(f.sinceMs).toISOString(),
    detail: f.detail,
    nvmlCode: f.nvmlCode ?? null,
    nvmlName: f.nvmlName ?? null,
    xid: f.xid ?? null,
  };
}

function unavailableView(key: NvmlReadingName, error: NvmlCallError, migEnabled: boolean): UnavailableView {
  let reason: UnavailableReason;
  switch (error.code) {
    case NvmlReturn.NOT_SUPPORTED:
      reason = migEnabled && (key === 'utilizationGpuPercent' || key === 'utilizationMemoryPercent') ? 'mig_enabled' : 'not_supported';
      break;
    case NvmlReturn.NO_PERMISSION:
      reason = 'no_permission';
      break;
    case NvmlReturn.FUNCTION_NOT_FOUND:
      reason = 'function_not_found';
      break;
    case NvmlReturn.NO_DATA:
      reason = 'no_data';
      break;
    default:
      reason = 'nvml_error';
  }
  return { reason, nvmlCode: error.code, nvmlName: error.name };
}

/**
 * The name of a GPU process, only when it is one of ours: the PID exists in this /proc and has
 * an NVIDIA device open. In a container without the host PID namespace the driver reports host
 * PIDs, which may be absent here or belong to an unrelated process.
 */
function processName(pid: number): string | null {
  try {
    const fds = readdirSync(`/proc/${pid}/fd`);
    const usesGpu = fds.some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('/dev/nvidia');
      } catch {
        return false;
      }
    });
    return usesGpu ? readFileSync(`/proc/${pid}/comm`, 'utf8').trim() : null;
  } catch {
    return null;
  }
}

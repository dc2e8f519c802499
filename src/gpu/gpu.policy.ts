import { type NvmlCallError, type NvmlDeviceSample, NvmlReturn } from '@app/nvml';

/** Effect of a signal on one probe. */
export type Effect = 'pass' | 'warn' | 'fail';

/**
 * How a finding goes away:
 * - `transient`: after `GPU_RECOVERY_SAMPLES` good samples in a row (thermal, power);
 * - `hardware`: only once NVML has been re-initialised after the fault and the GPU then answers
 *   normally (lost GPU, critical XID, uncorrectable ECC, failed row remap);
 * - `restart`: NVML errors that only a container restart cures when they last (999, 17, 18, 9);
 *   cleared when NVML answers again, liveness fails past `GPU_RESTART_AFTER_S`;
 * - `call`: a call past its deadline; cleared by the next completed sample;
 * - `capacity`: a threshold on a reading; cleared as soon as the reading is back.
 */
export type FindingClass = 'transient' | 'hardware' | 'restart' | 'call' | 'capacity';

/** Stable machine-readable reasons, as they appear in health bodies, logs and metrics. */
export type GpuReason =
  | 'gpu_lost'
  | 'gpu_reset_required'
  | 'gpu_irq_issue'
  | 'nvml_unknown_error'
  | 'nvml_operating_system'
  | 'nvml_version_mismatch'
  | 'nvml_driver_not_loaded'
  | 'nvml_uninitialized'
  | 'nvml_timeout'
  | 'nvml_error'
  | 'xid_critical'
  | 'ecc_uncorrectable'
  | 'remapped_rows_failure'
  | 'remapped_rows_pending'
  | 'thermal_slowdown'
  | 'hw_slowdown'
  | 'power_brake'
  | 'low_free_memory';

/** One row of the policy table. */
export interface PolicyRule {
  /** What is observed, in NVML terms. */
  signal: string;
  class: FindingClass;
  /** At start-up `fail` means the GPU does not count towards `GPU_MIN_COUNT`. */
  startup: Effect;
  readiness: Effect;
  /** `fail` after `GPU_RESTART_AFTER_S` for restart-class signals. */
  liveness: Effect;
}

/**
 * The health policy: how each GPU signal affects start-up, readiness and liveness. Everything
 * else (which readings exist, what a probe shows) follows from this table; the README renders it.
 */
export const GPU_POLICY: Readonly<Record<GpuReason, PolicyRule>> = {
  gpu_lost: { signal: 'NVML_ERROR_GPU_IS_LOST (15) or NVML_ERROR_GPU_NOT_FOUND (28)', class: 'hardware', startup: 'fail', readiness: 'fail', liveness: 'pass' },
  gpu_reset_required: { signal: 'NVML_ERROR_RESET_REQUIRED (16)', class: 'hardware', startup: 'fail', readiness: 'fail', liveness: 'pass' },
  gpu_irq_issue: { signal: 'NVML_ERROR_IRQ_ISSUE (11)', class: 'hardware', startup: 'fail', readiness: 'fail', liveness: 'pass' },
  nvml_unknown_error: { signal: 'NVML_ERROR_UNKNOWN (999), e.g. devices detached by a host daemon-reload', class: 'restart', startup: 'fail', readiness: 'fail', liveness: 'fail' },
  nvml_operating_system: { signal: 'NVML_ERROR_OPERATING_SYSTEM (17): the container lost access to its devices', class: 'restart', startup: 'fail', readiness: 'fail', liveness: 'fail' },
  nvml_version_mismatch: { signal: 'NVML_ERROR_LIB_RM_VERSION_MISMATCH (18): driver and library differ', class: 'restart', startup: 'fail', readiness: 'fail', liveness: 'fail' },
  nvml_driver_not_loaded: { signal: 'NVML_ERROR_DRIVER_NOT_LOADED (9) after start-up', class: 'restart', startup: 'fail', readiness: 'fail', liveness: 'fail' },
  nvml_uninitialized: { signal: 'NVML_ERROR_UNINITIALIZED (1), invalid handle (2) or NVML shut down', class: 'call', startup: 'fail', readiness: 'fail', liveness: 'pass' },
  nvml_timeout: { signal: 'an NVML call past NVML_CALL_TIMEOUT_MS', class: 'call', startup: 'fail', readiness: 'fail', liveness: 'pass' },
  nvml_error: { signal: 'any other device-wide NVML error', class: 'call', startup: 'fail', readiness: 'fail', liveness: 'pass' },
  xid_critical: { signal: 'critical XID from nvmlEventSetWait_v2 (all but GPU_XID_IGNORED, or GPU_XID_CRITICAL)', class: 'hardware', startup: 'pass', readiness: 'fail', liveness: 'pass' },
  ecc_uncorrectable: { signal: 'volatile uncorrectable ECC count above its start-up value', class: 'hardware', startup: 'pass', readiness: 'fail', liveness: 'pass' },
  remapped_rows_failure: { signal: 'nvmlDeviceGetRemappedRows: failureOccurred', class: 'hardware', startup: 'fail', readiness: 'fail', liveness: 'pass' },
  remapped_rows_pending: { signal: 'nvmlDeviceGetRemappedRows: isPending (a GPU reset applies it)', class: 'transient', startup: 'warn', readiness: 'warn', liveness: 'pass' },
  thermal_slowdown: { signal: 'temperature at or above NVML_TEMPERATURE_THRESHOLD_SLOWDOWN', class: 'transient', startup: 'warn', readiness: 'warn', liveness: 'pass' },
  hw_slowdown: { signal: 'clock-event reasons HW slowdown (0x8) or HW thermal slowdown (0x40)', class: 'transient', startup: 'warn', readiness: 'warn', liveness: 'pass' },
  power_brake: { signal: 'clock-event reason HW power brake slowdown (0x80)', class: 'transient', startup: 'warn', readiness: 'warn', liveness: 'pass' },
  low_free_memory: { signal: 'free memory below GPU_MIN_FREE_MEMORY_GIB', class: 'capacity', startup: 'pass', readiness: 'fail', liveness: 'pass' },
};

/** Something wrong with a GPU, as observed once. */
export interface Finding {
  reason: GpuReason;
  /** The NVML return code behind it, if any. */
  nvmlCode?: number;
  nvmlName?: string;
  /** The NVML function that reported it. */
  fn?: string;
  xid?: number;
  detail: string;
}

/** Settings the detectors need. */
export interface DetectorSettings {
  minFreeMemoryBytes: number;
}

const CLOCK_EVENT_HW_SLOWDOWN = 0x8;
const CLOCK_EVENT_HW_THERMAL_SLOWDOWN = 0x40;
const CLOCK_EVENT_HW_POWER_BRAKE = 0x80;

/** The reason a device-wide NVML error maps to. */
export function reasonForNvmlCode(code: number): GpuReason {
  switch (code) {
    case NvmlReturn.GPU_IS_LOST:
    case NvmlReturn.GPU_NOT_FOUND:
      return 'gpu_lost';
    case NvmlReturn.RESET_REQUIRED:
      return 'gpu_reset_required';
    case NvmlReturn.IRQ_ISSUE:
      return 'gpu_irq_issue';
    case NvmlReturn.UNKNOWN:
      return 'nvml_unknown_error';
    case NvmlReturn.OPERATING_SYSTEM:
      return 'nvml_operating_system';
    case NvmlReturn.LIB_RM_VERSION_MISMATCH:
      return 'nvml_version_mismatch';
    case NvmlReturn.DRIVER_NOT_LOADED:
    case NvmlReturn.LIBRARY_NOT_FOUND:
      return 'nvml_driver_not_loaded';
    case NvmlReturn.UNINITIALIZED:
    case NvmlReturn.INVALID_ARGUMENT:
      return 'nvml_uninitialized';
    default:
      return 'nvml_error';
  }
}

/** A finding for a device-wide NVML error. */
export function errorFinding(error: NvmlCallError): Finding {
  return {
    reason: reasonForNvmlCode(error.code),
    nvmlCode: error.code,
    nvmlName: error.name,
    fn: error.fn,
    detail: `${error.fn}: ${error.name} (${error.code}): ${error.message}`,
  };
}

/**
 * Findings in one completed sample. `eccBaseline` is the volatile uncorrectable ECC count
 * when the GPU was first seen.
 */
export function detectFindings(sample: NvmlDeviceSample, eccBaseline: number | null, settings: DetectorSettings): Finding[] {
  if (sample.failure) return [errorFinding(sample.failure)];
  const r = sample.readings;
  const out: Finding[] = [];
  if (eccBaseline !== null && r.eccVolatileUncorrected !== null && r.eccVolatileUncorrected > eccBaseline) {
    out.push({
      reason: 'ecc_uncorrectable',
      detail: `volatile uncorrectable ECC errors rose from ${eccBaseline} to ${r.eccVolatileUncorrected}`,
    });
  }
  if (r.remappedRowsFailure) out.push({ reason: 'remapped_rows_failure', detail: 'a row remapping failed; the GPU needs service' });
  else if (r.remappedRowsPending) out.push({ reason: 'remapped_rows_pending', detail: 'a row remapping waits for a GPU reset' });
  if (r.temperatureCelsius !== null && r.temperatureSlowdownCelsius !== null && r.temperatureCelsius >= r.temperatureSlowdownCelsius) {
    out.push({
      reason: 'thermal_slowdown',
      detail: `${r.temperatureCelsius} °C is at or above the slowdown threshold of ${r.temperatureSlowdownCelsius} °C`,
    });
  }
  const reasons = r.clockEventReasons ?? 0;
  if (reasons & (CLOCK_EVENT_HW_SLOWDOWN | CLOCK_EVENT_HW_THERMAL_SLOWDOWN)) {
    out.push({ reason: 'hw_slowdown', detail: `clock-event reasons 0x${reasons.toString(16)} include a hardware slowdown` });
  }
  if (reasons & CLOCK_EVENT_HW_POWER_BRAKE) {
    out.push({ reason: 'power_brake', detail: `clock-event reasons 0x${reasons.toString(16)} include the power brake` });
  }
  if (settings.minFreeMemoryBytes > 0 && r.memoryFreeBytes !== null && r.memoryFreeBytes < settings.minFreeMemoryBytes) {
    out.push({
      reason: 'low_free_memory',
      detail: `${r.memoryFreeBytes} bytes free, below the minimum of ${settings.minFreeMemoryBytes}`,
    });
  }
  return out;
}

/** Names of the `nvmlClocksEventReason*` bits, from nvml.h. */
const CLOCK_EVENT_NAMES: ReadonlyArray<[number, string]> = [
  [0x1, 'gpu_idle'],
  [0x2, 'applications_clocks_setting'],
  [0x4, 'sw_power_cap'],
  [0x8, 'hw_slowdown'],
  [0x10, 'sync_boost'],
  [0x20, 'sw_thermal_slowdown'],
  [0x40, 'hw_thermal_slowdown'],
  [0x80, 'hw_power_brake_slowdown'],
  [0x100, 'display_clock_setting'],
];

/** The active `nvmlClocksEventReason*` names in a bitmask. */
export function clockEventNames(mask: number): string[] {
  return CLOCK_EVENT_NAMES.filter(([bit]) => mask & bit).map(([, name]) => name);
}

/** Whether an XID is critical under the configured lists. */
export function isCriticalXid(xid: number, ignored: readonly number[], critical: readonly number[]): boolean {
  if (critical.length > 0) return critical.includes(xid);
  return !ignored.includes(xid);
}

/** The policy table as Markdown, as the README shows it (a test keeps the two equal). */
export function renderPolicyTable(): string {
  const rows = Object.entries(GPU_POLICY).map(
    ([reason, r]) => `| \`${reason}\` | ${r.signal} | ${r.class} | ${r.startup} | ${r.readiness} | ${r.liveness === 'fail' ? 'fail after `GPU_RESTART_AFTER_S`' : r.liveness} |`,
  );
  return ['| reason | signal | class | start-up | readiness | liveness |', '| --- | --- | --- | --- | --- | --- |', ...rows].join('\n');
}

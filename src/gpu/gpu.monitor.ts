import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import {
  type NvmlCallError,
  NvmlClient,
  type NvmlDeviceIdentity,
  type NvmlDeviceSample,
  NvmlError,
  type NvmlEvent,
  NvmlEventType,
  type NvmlEventWatch,
  NvmlShutdownError,
  NvmlTimeoutError,
} from '@app/nvml';
import { gpuConfig } from '../config/config.namespaces.js';
import { ExitCode } from '../exit-codes.js';
import { type ActiveFinding, GpuHealthState, type GpuStatus, type StatusChange } from './gpu.health-state.js';
import type { GpuInventory, InventoryGpu } from './gpu.inventory.js';
import { detectFindings, errorFinding, type Finding, GPU_POLICY, isCriticalXid } from './gpu.policy.js';

/** Everything known about one monitored GPU. */
export interface MonitoredGpu {
  inventory: InventoryGpu;
  health: GpuHealthState;
  /** The last sample that completed (with or without a device failure). */
  sample: NvmlDeviceSample | null;
  /** When the last sample attempt ended, ms since the epoch (completed or timed out). */
  checkedAtMs: number | null;
  eccBaseline: number | null;
  lastReminderMs: number;
}

/** A recorded status change, for /health/transitions. */
export interface GpuTransition {
  uuid: string;
  index: number;
  name: string;
  from: GpuStatus;
  to: GpuStatus;
  at: string;
  /** Time spent in `from`, ms. */
  previousDurationMs: number;
  reasons: Array<Pick<ActiveFinding, 'reason' | 'detail' | 'nvmlCode' | 'nvmlName' | 'xid'>>;
}

/** The state of NVML as a whole (its initialisation). */
export interface NvmlState {
  initialized: boolean;
  /** Re-initialisations done so far. */
  generation: number;
  /** The error of the last failed (re-)initialisation, while it lasts. */
  error: NvmlCallError | null;
  errorSinceMs: number | null;
  nextReinitAtMs: number | null;
}

const TRANSITIONS_KEPT = 100;
const EVENT_TYPES = NvmlEventType.XID_CRITICAL_ERROR;

/**
 * Watches the selected GPUs after start-up: samples them in the background (and on demand when
 * a probe finds the snapshot too old), applies the health policy with its hysteresis, watches
 * XID events, re-initialises NVML with backoff after errors that allow it, and logs transitions
 * only. All NVML work goes through NvmlClient, off the event loop and with deadlines.
 */
@Injectable()
export class GpuMonitor {
  private readonly logger = new Logger('GpuMonitor');
  private readonly gpus = new Map<string, MonitoredGpu>();
  private readonly transitions: GpuTransition[] = [];
  private readonly xidCounts = new Map<string, Map<number, number>>();
  private readonly lastXids = new Map<string, { xid: number; atMs: number }>();
  private inventory: GpuInventory | null = null;
  private refreshing: Promise<void> | null = null;
  private lastRefreshMs: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private watch: NvmlEventWatch | null = null;
  private reinitAttempts = 0;
  private unrecoverableHandled = false;
  private readonly nvmlState: NvmlState = {
    initialized: false,
    generation: 0,
    error: null,
    errorSinceMs: null,
    nextReinitAtMs: null,
  };

  constructor(
    private readonly nvml: NvmlClient,
    @Inject(gpuConfig.KEY) private readonly config: ConfigType<typeof gpuConfig>,
  ) {}

  /** Records that NVML was initialised, so `stop()` shuts it down (also after a refused start). */
  nvmlInitialized(): void {
    this.nvmlState.initialized = true;
  }

  /**
   * Takes over the GPUs the start-up check selected. `initialSamples` (taken by the check)
   * become the first snapshot and set each GPU's ECC baseline.
   */
  adopt(inventory: GpuInventory, initialSamples: ReadonlyMap<string, NvmlDeviceSample>): void {
    this.inventory = inventory;
    this.nvmlState.initialized = true;
    const now = Date.now();
    for (const gpu of inventory.gpus) {
      const sample = initialSamples.get(gpu.identity.uuid) ?? null;
      const monitored: MonitoredGpu = {
        inventory: gpu,
        health: new GpuHealthState(now),
        sample: null,
        checkedAtMs: null,
        eccBaseline: null,
        lastReminderMs: 0,
      };
      this.gpus.set(gpu.identity.uuid, monitored);
      if (sample) this.applySample(monitored, sample);
    }
    this.lastRefreshMs = initialSamples.size > 0 ? now : null;
  }

  /** Starts background sampling and the XID watch. */
  async start(): Promise<void> {
    await this.startEventWatch();
    this.schedule();
  }

  /** Stops sampling and the XID watch, waits for work in progress, then shuts NVML down once. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.refreshing?.catch(() => undefined);
    await this.watch?.stop().catch(() => undefined);
    this.watch = null;
    if (this.nvmlState.initialized) {
      this.nvmlState.initialized = false;
      try {
        await this.nvml.shutdown({ timeoutMs: this.config.startupTimeoutMs });
      } catch (error) {
        this.logger.warn({ msg: `nvmlShutdown failed: ${(error as Error).message}`, err: error });
      }
    }
  }

  /** The inventory taken at start-up. */
  getInventory(): GpuInventory | null {
    return this.inventory;
  }

  /** Monitored GPUs in display order. */
  list(): MonitoredGpu[] {
    return [...this.gpus.values()];
  }

  get(uuid: string): MonitoredGpu | undefined {
    return this.gpus.get(uuid);
  }

  /**
   * Makes sure the snapshot is no older than `GPU_SNAPSHOT_MAX_AGE_MS` (sampling now if needed;
   * bounded by the NVML call deadline) and returns its age, ms.
   */
  async fresh(): Promise<number> {
    const age = this.snapshotAgeMs();
    if (age === null || age > this.config.snapshotMaxAgeMs) await this.refresh();
    return this.snapshotAgeMs() ?? 0;
  }

  /** Time since the last completed refresh, ms; null before the first. */
  snapshotAgeMs(): number | null {
    return this.lastRefreshMs === null ? null : Date.now() - this.lastRefreshMs;
  }

  /** Samples every GPU once (single flight: concurrent callers share one refresh). */
  refresh(): Promise<void> {
    this.refreshing ??= this.sampleAll().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** Recent status changes, newest last. */
  recentTransitions(): GpuTransition[] {
    return [...this.transitions];
  }

  /** XID events seen per GPU UUID, by XID. */
  xidEventCounts(): ReadonlyMap<string, ReadonlyMap<number, number>> {
    return this.xidCounts;
  }

  /** The last XID each GPU reported, and when (ms since the epoch). */
  lastXid(uuid: string): { xid: number; atMs: number } | null {
    return this.lastXids.get(uuid) ?? null;
  }

  /** GPUs whose XID events are watched, and why the others are not; null while no watch runs. */
  xidWatchCoverage(): { registered: readonly string[]; unsupported: Readonly<Record<string, NvmlCallError>> } | null {
    return this.watch ? { registered: this.watch.registered, unsupported: this.watch.unsupported } : null;
  }

  nvmlStatus(): Readonly<NvmlState> {
    return this.nvmlState;
  }

  /**
   * Why liveness must fail, if it must: a restart-class NVML error (999, 17, 18, 9) that has
   * lasted longer than `GPU_RESTART_AFTER_S`. Null while the process is fine.
   */
  livenessFailure(): { reason: string; sinceMs: number; detail: string } | null {
    const now = Date.now();
    const windowMs = this.config.restartAfterS * 1000;
    for (const gpu of this.gpus.values()) {
      const age = gpu.health.restartClassAgeMs(now);
      if (age !== null && age > windowMs) {
        const finding = gpu.health.findings().find((f) => GPU_POLICY[f.reason].class === 'restart')!;
        return { reason: finding.reason, sinceMs: now - age, detail: finding.detail };
      }
    }
    const { error, errorSinceMs } = this.nvmlState;
    if (error && errorSinceMs !== null && now - errorSinceMs > windowMs && GPU_POLICY[errorFinding(error).reason].class === 'restart') {
      return { reason: errorFinding(error).reason, sinceMs: errorSinceMs, detail: errorFinding(error).detail };
    }
    return null;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.config.pollIntervalMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      await this.maybeReinit();
      await this.refresh();
      this.remind();
      this.checkUnrecoverable();
    } catch (error) {
      this.logger.error({ msg: `GPU monitoring cycle failed: ${(error as Error).message}`, err: error });
    } finally {
      this.schedule();
    }
  }

  private async sampleAll(): Promise<void> {
    const gpus = [...this.gpus.values()];
    await Promise.all(
      gpus.map(async (gpu) => {
        try {
          const sample = await this.nvml.sampleDevice(gpu.inventory.identity.uuid, { timeoutMs: this.config.callTimeoutMs });
          this.applySample(gpu, sample);
        } catch (error) {
          this.applyCallError(gpu, error);
        }
      }),
    );
    this.lastRefreshMs = Date.now();
  }

  private applySample(gpu: MonitoredGpu, sample: NvmlDeviceSample): void {
    const ecc = sample.readings.eccVolatileUncorrected;
    const baseline = ecc !== null && (gpu.eccBaseline === null || ecc < gpu.eccBaseline) ? ecc : gpu.eccBaseline;
    // Findings first: a sample that cannot be read is rejected whole (and reported), not kept.
    const findings = detectFindings(sample, baseline, { minFreeMemoryBytes: this.config.minFreeMemoryBytes });
    gpu.sample = sample;
    gpu.eccBaseline = baseline;
    gpu.checkedAtMs = Date.now();
    const change = gpu.health.observeSample(
      findings,
      sample.failure === null,
      this.nvmlState.generation,
      this.config.recoverySamples,
      gpu.checkedAtMs,
    );
    this.record(gpu, change);
  }

  private applyCallError(gpu: MonitoredGpu, error: unknown): void {
    gpu.checkedAtMs = Date.now();
    let finding: Finding;
    if (error instanceof NvmlTimeoutError) {
      finding = {
        reason: 'nvml_timeout',
        fn: error.fn ?? undefined,
        detail: error.message,
      };
    } else if (error instanceof NvmlShutdownError) {
      finding = { reason: 'nvml_uninitialized', nvmlCode: error.code, nvmlName: error.symbol, fn: error.fn, detail: error.message };
    } else if (error instanceof NvmlError) {
      finding = errorFinding(error.toJSON());
    } else {
      finding = { reason: 'nvml_error', detail: `sampling failed: ${String(error)}` };
    }
    this.record(gpu, gpu.health.raise(finding, this.nvmlState.generation, gpu.checkedAtMs));
  }

  /** Re-initialises NVML (shutdown + init) with exponential backoff while a finding asks for it. */
  private async maybeReinit(): Promise<void> {
    const wanted = !this.nvmlState.initialized || [...this.gpus.values()].some((g) => g.health.wantsReinit());
    if (!wanted) {
      this.reinitAttempts = 0;
      this.nvmlState.nextReinitAtMs = null;
      return;
    }
    const now = Date.now();
    if (this.nvmlState.nextReinitAtMs === null) {
      this.nvmlState.nextReinitAtMs = now + this.backoffMs();
      return;
    }
    if (now < this.nvmlState.nextReinitAtMs) return;
    this.reinitAttempts++;
    this.nvmlState.nextReinitAtMs = now + this.backoffMs();
    await this.refreshing?.catch(() => undefined);
    await this.watch?.stop().catch(() => undefined);
    this.watch = null;
    try {
      if (this.nvmlState.initialized) {
        this.nvmlState.initialized = false;
        await this.nvml.shutdown({ timeoutMs: this.config.startupTimeoutMs }).catch(() => undefined);
      }
      await this.nvml.init({ timeoutMs: this.config.startupTimeoutMs });
      this.nvmlState.initialized = true;
      this.nvmlState.generation++;
      if (this.nvmlState.error) {
        this.logger.log({ msg: 'NVML re-initialised', attempt: this.reinitAttempts, generation: this.nvmlState.generation });
      }
      this.nvmlState.error = null;
      this.nvmlState.errorSinceMs = null;
      await this.startEventWatch();
    } catch (error) {
      const info = error instanceof NvmlError ? error.toJSON() : null;
      if (info && (this.nvmlState.error?.code !== info.code)) {
        this.logger.error({
          msg: `NVML re-initialisation failed: ${info.name} (${info.code})`,
          nvmlCode: info.code,
          nvmlName: info.name,
          attempt: this.reinitAttempts,
        });
      }
      if (info) {
        this.nvmlState.errorSinceMs ??= now;
        this.nvmlState.error = info;
      }
    }
  }

  private backoffMs(): number {
    return Math.min(2 ** this.reinitAttempts * 1000, this.config.reinitBackoffMaxS * 1000);
  }

  private async startEventWatch(): Promise<void> {
    if (this.stopped || this.gpus.size === 0) return;
    try {
      this.watch = await this.nvml.watchEvents([...this.gpus.keys()], EVENT_TYPES, {
        onEvent: (event) => this.onEvent(event),
        onError: (error) => {
          this.logger.warn({ msg: `XID watch stopped: ${error.message}`, nvmlCode: error.code, nvmlName: error.symbol });
          this.watch = null;
        },
      });
      const unsupported = Object.keys(this.watch.unsupported);
      if (unsupported.length > 0) {
        this.logger.log({ msg: 'XID events are not available for some GPUs', gpus: this.watch.unsupported });
      }
    } catch (error) {
      this.logger.warn({ msg: `XID events cannot be watched: ${(error as Error).message}` });
    }
  }

  private onEvent(event: NvmlEvent): void {
    const gpu = this.gpus.get(event.uuid);
    const counts = this.xidCounts.get(event.uuid) ?? new Map<number, number>();
    counts.set(event.xid, (counts.get(event.xid) ?? 0) + 1);
    this.xidCounts.set(event.uuid, counts);
    this.lastXids.set(event.uuid, { xid: event.xid, atMs: event.receivedAtMs });
    if (!gpu) return;
    if (!isCriticalXid(event.xid, this.config.ignoredXids, this.config.criticalXids)) {
      this.logger.debug({ msg: `XID ${event.xid} on GPU ${gpu.inventory.identity.index} (application error, ignored)`, xid: event.xid });
      return;
    }
    const finding: Finding = { reason: 'xid_critical', xid: event.xid, detail: `XID ${event.xid} reported by the driver` };
    this.record(gpu, gpu.health.raise(finding, this.nvmlState.generation, event.receivedAtMs));
  }

  private record(gpu: MonitoredGpu, change: StatusChange | null): void {
    if (!change) return;
    const id = gpu.inventory.identity;
    const transition: GpuTransition = {
      uuid: id.uuid,
      index: id.index,
      name: id.name,
      from: change.from,
      to: change.to,
      at: new Date(change.atMs).toISOString(),
      previousDurationMs: change.previousDurationMs,
      reasons: change.findings.map(({ reason, detail, nvmlCode, nvmlName, xid }) => ({ reason, detail, nvmlCode, nvmlName, xid })),
    };
    this.transitions.push(transition);
    if (this.transitions.length > TRANSITIONS_KEPT) this.transitions.shift();
    gpu.lastReminderMs = change.atMs;
    const line = this.logLine(gpu, change.to === 'up' ? `recovered after ${Math.round(change.previousDurationMs / 1000)} s ${change.from}` : change.to, change.findings);
    if (change.to === 'down') this.logger.error(line);
    else if (change.to === 'degraded') this.logger.warn(line);
    else this.logger.log(line);
  }

  /** While a GPU stays down, repeats its line at most every GPU_LOG_REMINDER_S. */
  private remind(): void {
    if (this.config.logReminderS === 0) return;
    const now = Date.now();
    for (const gpu of this.gpus.values()) {
      if (gpu.health.status !== 'down' || now - gpu.lastReminderMs < this.config.logReminderS * 1000) continue;
      gpu.lastReminderMs = now;
      const downForS = Math.round((now - gpu.health.statusSinceMs) / 1000);
      this.logger.error(this.logLine(gpu, `still down after ${downForS} s`, gpu.health.findings()));
    }
  }

  private checkUnrecoverable(): void {
    if (this.config.unrecoverableAction !== 'exit' || this.unrecoverableHandled) return;
    const failure = this.livenessFailure();
    if (!failure) return;
    this.unrecoverableHandled = true;
    this.logger.fatal({
      msg: `NVML error ${failure.reason} has lasted past GPU_RESTART_AFTER_S=${this.config.restartAfterS}: exiting so the restart policy restarts the container`,
      reason: failure.reason,
      detail: failure.detail,
      exitCode: ExitCode.NVML_UNRECOVERABLE,
    });
    process.exitCode = ExitCode.NVML_UNRECOVERABLE;
    process.kill(process.pid, 'SIGTERM');
  }

  private logLine(gpu: MonitoredGpu, what: string, findings: readonly Finding[]): Record<string, unknown> {
    const id: NvmlDeviceIdentity = gpu.inventory.identity;
    const first = findings[0];
    return {
      msg: `GPU ${id.index} (${id.uuid}) ${what}${findings.length > 0 ? `: ${findings.map((f) => f.reason).join(', ')}` : ''}`,
      gpu: { index: id.index, uuid: id.uuid, name: id.name },
      status: gpu.health.status,
      reasons: findings.map((f) => f.reason),
      ...(first?.nvmlCode !== undefined && { nvmlCode: first.nvmlCode, nvmlName: first.nvmlName, nvmlFunction: first.fn }),
      ...(findings.some((f) => f.xid !== undefined) && { xid: findings.find((f) => f.xid !== undefined)!.xid }),
    };
  }
}

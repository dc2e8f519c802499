import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { gpuConfig } from '../config/config.namespaces.js';
import { GpuMonitor } from './gpu.monitor.js';
import { GpuStartupCheck } from './gpu.startup-check.js';
import { type GpuSummary, gpuSummary, gpuView, type GpuView } from './gpu.view.js';

/**
 * Terminus indicators for the GPUs. They gather facts from GpuMonitor and answer `up`,
 * `degraded` or `down`; they never throw (a throw would be an HTTP 500, a `down` is a 503).
 */
@Injectable()
export class GpuHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly monitor: GpuMonitor,
    private readonly startupCheck: GpuStartupCheck,
    @Inject(gpuConfig.KEY) private readonly config: ConfigType<typeof gpuConfig>,
  ) {}

  /**
   * Readiness: every selected GPU by UUID with its status and reasons (NVML code and name when
   * an NVML error is behind it), from a snapshot no older than GPU_SNAPSHOT_MAX_AGE_MS. `down`
   * when fewer GPUs are healthy than GPU_MIN_HEALTHY_COUNT (default: all), `degraded` when one
   * warns or is down but enough are up. With `readings`, each GPU also carries every reading
   * (as on /gpus); probes leave them out, since kubelet reads at most 10 KiB of a probe body.
   */
  async isReady(key: string, readings = false): Promise<HealthIndicatorResult> {
    const check = this.indicators.check(key);
    const snapshotAgeMs = await this.monitor.fresh();
    const now = Date.now();
    const gpus: Record<string, GpuView | GpuSummary> = {};
    let healthy = 0;
    let degraded = false;
    for (const gpu of this.monitor.list()) {
      const view = readings ? gpuView(gpu, now, false) : gpuSummary(gpu);
      gpus[view.uuid] = view;
      if (view.status === 'up' || view.status === 'degraded') healthy++;
      if (view.status !== 'up') degraded = true;
    }
    const total = this.monitor.list().length;
    const required = Math.min(this.config.minHealthyCount ?? total, total);
    const data = {
      simulated: this.monitor.getInventory()?.library.simulator !== null,
      snapshotAgeMs,
      healthy,
      required,
      total,
      gpus,
    };
    if (healthy < required || total === 0) return check.down({ reason: 'insufficient_healthy_gpus', ...data });
    return degraded ? check.degraded(data) : check.up(data);
  }

  /**
   * Liveness part owned by the GPUs: down only when a restart-class NVML error (999, 17, 18, 9)
   * has lasted past GPU_RESTART_AFTER_S and GPU_UNRECOVERABLE_ACTION is `fail-liveness`.
   */
  isAlive(key: string): HealthIndicatorResult {
    const check = this.indicators.check(key);
    const failure = this.config.unrecoverableAction === 'fail-liveness' ? this.monitor.livenessFailure() : null;
    if (!failure) return check.up({ initialized: this.monitor.nvmlStatus().initialized });
    return check.down({
      reason: failure.reason,
      since: new Date(failure.sinceMs).toISOString(),
      detail: failure.detail,
      restartAfterS: this.config.restartAfterS,
    });
  }

  /** Start-up: up once the fail-fast GPU check has passed. */
  isStarted(key: string): HealthIndicatorResult {
    const check = this.indicators.check(key);
    const passed = this.startupCheck.passed;
    const inventory = this.monitor.getInventory();
    if (!passed || !inventory) return check.down({ reason: 'starting' });
    return check.up({
      passedAt: passed.toISOString(),
      gpus: inventory.gpus.length,
      timingsMs: Object.fromEntries(Object.entries(inventory.timings).map(([k, v]) => [k, v === null ? null : Math.round(v)])),
    });
  }
}

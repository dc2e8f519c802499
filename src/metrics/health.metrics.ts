import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { DiskHealthIndicator, type HealthIndicatorResult } from '@nestjs/terminus';
import { Gauge, type Registry } from 'prom-client';
import { healthConfig } from '../config/config.namespaces.js';
import { GpuHealthIndicator } from '../gpu/gpu.health.js';
import { ProcessHealthIndicator } from '../health/process.health.js';
import { ShutdownState } from '../health/shutdown.state.js';
import { PREFIX } from './service.metrics.js';
import { METRICS_REGISTRY } from './metrics.registry.js';

type Check = () => HealthIndicatorResult | Promise<HealthIndicatorResult>;

const STATUSES = ['up', 'degraded', 'down'] as const;

/**
 * The probes' checks as a metric, evaluated at scrape time with the same indicators the probes
 * use. The GPU check answers from the monitor's snapshot (at most `GpuMonitor.fresh()`). The
 * event-loop check has its own delay histogram here, so it covers the time since the previous
 * scrape and never resets the one liveness reads.
 */
@Injectable()
export class HealthMetrics {
  /** Held so the collector's lifetime is this provider's. */
  readonly metric: Gauge;
  private readonly checks: Record<string, Check>;

  constructor(
    @Inject(METRICS_REGISTRY) registry: Registry,
    gpu: GpuHealthIndicator,
    process: ProcessHealthIndicator,
    shutdown: ShutdownState,
    disk: DiskHealthIndicator,
    @Inject(healthConfig.KEY) config: ConfigType<typeof healthConfig>,
  ) {
    this.checks = {
      'event-loop': () => process.eventLoop('event-loop'),
      heap: () => process.heap('heap'),
      nvml: () => gpu.isAlive('nvml'),
      shutdown: () => shutdown.check('shutdown'),
      gpu: () => gpu.isReady('gpu'),
      disk: () => disk.checkStorage('disk', { path: config.diskPath, thresholdPercent: config.diskMaxUsedRatio }),
      startup: () => gpu.isStarted('startup'),
    };
    const evaluate = () => this.evaluate();
    this.metric = new Gauge({
      name: `${PREFIX}health_check_status`,
      help: 'Outcome of each health check (those behind /health/live, /health/ready and /health/startup): 1 for the current status (up, degraded, down), 0 for the others.',
      labelNames: ['check', 'status'],
      registers: [registry],
      async collect() {
        const outcomes = await evaluate();
        this.reset();
        for (const [check, status] of outcomes) {
          for (const s of STATUSES) this.set({ check, status: s }, s === status ? 1 : 0);
        }
      },
    });
  }

  /** Every check's status; a check that throws counts as down (as the probes count it). */
  async evaluate(): Promise<Array<[string, (typeof STATUSES)[number]]>> {
    return Promise.all(
      Object.entries(this.checks).map(async ([name, check]): Promise<[string, (typeof STATUSES)[number]]> => {
        try {
          const status = (await check())[name]?.status;
          return [name, status === 'up' || status === 'degraded' ? status : 'down'];
        } catch {
          return [name, 'down'];
        }
      }),
    );
  }
}

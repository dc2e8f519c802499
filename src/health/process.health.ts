import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { healthConfig } from '../config/health.config.js';

/**
 * The process itself, for liveness: event-loop delay and heap use. Heap is measured against
 * V8's `heap_size_limit` (or an explicit byte limit), not against the current heap size,
 * which grows and shrinks and says nothing about running out of memory.
 */
@Injectable()
export class ProcessHealthIndicator implements OnModuleDestroy {
  private readonly delay = monitorEventLoopDelay({ resolution: 10 });

  constructor(
    private readonly indicators: HealthIndicatorService,
    @Inject(healthConfig.KEY) private readonly config: ConfigType<typeof healthConfig>,
  ) {
    this.delay.enable();
  }

  onModuleDestroy(): void {
    this.delay.disable();
  }

  /**
   * Worst event-loop delay since the previous check, ms; down above
   * HEALTH_EVENT_LOOP_DELAY_MAX_MS.
   */
  eventLoop(key: string): HealthIndicatorResult {
    const check = this.indicators.check(key);
    const maxDelayMs = Math.round(this.delay.max / 1e4) / 100;
    const p99DelayMs = Math.round(this.delay.percentile(99) / 1e4) / 100;
    this.delay.reset();
    const data = { maxDelayMs, p99DelayMs, thresholdMs: this.config.eventLoopDelayMaxMs };
    return maxDelayMs > this.config.eventLoopDelayMaxMs ? check.down(data) : check.up(data);
  }

  /** Heap in use (bytes) against the limit; down above it. */
  heap(key: string): HealthIndicatorResult {
    const check = this.indicators.check(key);
    const stats = getHeapStatistics();
    const limitBytes = this.config.heapMaxBytes ?? Math.floor(stats.heap_size_limit * this.config.heapMaxRatio);
    const data = { usedBytes: stats.used_heap_size, limitBytes, heapSizeLimitBytes: stats.heap_size_limit };
    return stats.used_heap_size > limitBytes ? check.down(data) : check.up(data);
  }
}

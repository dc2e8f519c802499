import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { healthConfig } from '../config/config.namespaces.js';

/** How long one event-loop window lasts, and how long a heap reading serves probes, ms. */
const WINDOW_MS = 1_000;
const HEAP_READING_MS = 50;

/**
 * The process itself, for liveness: event-loop delay and heap use. Heap is measured against
 * V8's `heap_size_limit` (or an explicit byte limit), not against the current heap size,
 * which grows and shrinks and says nothing about running out of memory.
 *
 * Probes can arrive thousands of times a second, so the costly parts are not done per probe:
 * the delay histogram's percentile is read once per window (a probe compares the worst delay of
 * the last full window and of the current one), and a heap reading serves probes for 50 ms.
 */
@Injectable()
export class ProcessHealthIndicator implements OnModuleDestroy {
  private readonly delay = monitorEventLoopDelay({ resolution: 10 });
  private readonly timer: NodeJS.Timeout;
  private lastWindow = { maxDelayMs: 0, p99DelayMs: 0 };
  private heapReading: { atMs: number; usedBytes: number; heapSizeLimitBytes: number } | null = null;

  constructor(
    private readonly indicators: HealthIndicatorService,
    @Inject(healthConfig.KEY) private readonly config: ConfigType<typeof healthConfig>,
  ) {
    this.delay.enable();
    this.timer = setInterval(() => this.closeWindow(), WINDOW_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.delay.disable();
  }

  /**
   * Worst event-loop delay over the last full window and the current one, ms; down above
   * HEALTH_EVENT_LOOP_DELAY_MAX_MS.
   */
  eventLoop(key: string): HealthIndicatorResult {
    const check = this.indicators.check(key);
    const maxDelayMs = Math.max(this.lastWindow.maxDelayMs, toMs(this.delay.max));
    const data = { maxDelayMs, p99DelayMs: this.lastWindow.p99DelayMs, thresholdMs: this.config.eventLoopDelayMaxMs };
    return maxDelayMs > this.config.eventLoopDelayMaxMs ? check.down(data) : check.up(data);
  }

  /** Heap in use (bytes) against the limit; down above it. */
  heap(key: string): HealthIndicatorResult {
    const check = this.indicators.check(key);
    const now = Date.now();
    if (!this.heapReading || now - this.heapReading.atMs > HEAP_READING_MS) {
      const stats = getHeapStatistics();
      this.heapReading = { atMs: now, usedBytes: stats.used_heap_size, heapSizeLimitBytes: stats.heap_size_limit };
    }
    const { usedBytes, heapSizeLimitBytes } = this.heapReading;
    const limitBytes = this.config.heapMaxBytes ?? Math.floor(heapSizeLimitBytes * this.config.heapMaxRatio);
    const data = { usedBytes, limitBytes, heapSizeLimitBytes };
    return usedBytes > limitBytes ? check.down(data) : check.up(data);
  }

  private closeWindow(): void {
    this.lastWindow = { maxDelayMs: toMs(this.delay.max), p99DelayMs: toMs(this.delay.percentile(99)) };
    this.delay.reset();
  }
}

/** Histogram nanoseconds to ms, two decimals; an empty histogram reads 0. */
function toMs(ns: number): number {
  return Number.isFinite(ns) && ns > 0 ? Math.round(ns / 1e4) / 100 : 0;
}

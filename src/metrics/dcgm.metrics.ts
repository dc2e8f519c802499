import { Inject, Injectable } from '@nestjs/common';
import type { Registry } from 'prom-client';
import { GpuMonitor } from '../gpu/gpu.monitor.js';
import { DCGM_FIELDS, DCGM_XID_ERRORS } from './dcgm.fields.js';
import { DRIVER_VERSION_LABEL, GPU_LABEL_NAMES } from './gpu.labels.js';
import { GpuSeriesSource } from './gpu.series.js';
import { METRICS_REGISTRY } from './metrics.registry.js';
import { SnapshotCounter, SnapshotGauge, type SnapshotSample } from './snapshot.metrics.js';

const LABEL_NAMES = [...GPU_LABEL_NAMES, DRIVER_VERSION_LABEL];

/**
 * The GPU series under dcgm-exporter's names and labels. Values are read when Prometheus scrapes
 * from GpuMonitor's last sample of each GPU: a scrape never calls NVML. A reading a GPU cannot
 * report (null) has no series.
 */
@Injectable()
export class DcgmMetrics {
  /** Held so the collectors' lifetime is this provider's. */
  readonly metrics: Array<SnapshotGauge | SnapshotCounter>;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry, source: GpuSeriesSource, monitor: GpuMonitor) {
    const registers = [registry];
    this.metrics = DCGM_FIELDS.map((field) => {
      const config = { name: field.name, help: field.help, labelNames: LABEL_NAMES, registers };
      const read = function* (): Iterable<SnapshotSample> {
        for (const { dcgmLabels, readings } of source.list()) {
          const value = readings ? field.value(readings) : null;
          if (value !== null) yield { labels: dcgmLabels, value };
        }
      };
      return field.type === 'counter' ? new SnapshotCounter(config, read) : new SnapshotGauge(config, read);
    });

    // As dcgm-exporter: the last XID of each GPU, 0 before the first; absent where XID events
    // cannot be watched (the value would claim "no XID" without knowing).
    this.metrics.push(
      new SnapshotGauge({ name: DCGM_XID_ERRORS.name, help: DCGM_XID_ERRORS.help, labelNames: LABEL_NAMES, registers }, function* () {
        const coverage = monitor.xidWatchCoverage();
        for (const { uuid, dcgmLabels } of source.list()) {
          if (!coverage?.registered.includes(uuid)) continue;
          yield { labels: dcgmLabels, value: monitor.lastXid(uuid)?.xid ?? 0 };
        }
      }),
    );
  }
}

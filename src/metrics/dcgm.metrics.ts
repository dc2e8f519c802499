import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, type Registry } from 'prom-client';
import { GpuMonitor } from '../gpu/gpu.monitor.js';
import { DCGM_FIELDS, DCGM_XID_ERRORS } from './dcgm.fields.js';
import { DRIVER_VERSION_LABEL, GPU_LABEL_NAMES } from './gpu.labels.js';
import { GpuSeriesSource } from './gpu.series.js';
import { LastXid } from './last-xid.js';
import { METRICS_REGISTRY } from './metrics.registry.js';

const LABEL_NAMES = [...GPU_LABEL_NAMES, DRIVER_VERSION_LABEL];

/**
 * The GPU series under dcgm-exporter's names and labels. Values are read when Prometheus scrapes
 * (collect callbacks) from GpuMonitor's last sample of each GPU: a scrape never calls NVML.
 */
@Injectable()
export class DcgmMetrics {
  private readonly lastXid = new LastXid();
  /** Held so the collectors' lifetime is this provider's. */
  readonly metrics: Array<Gauge | Counter>;

  constructor(
    @Inject(METRICS_REGISTRY) registry: Registry,
    source: GpuSeriesSource,
    monitor: GpuMonitor,
  ) {
    const lastXid = this.lastXid;
    this.metrics = DCGM_FIELDS.map((field) => {
      const base = { name: field.name, help: field.help, labelNames: LABEL_NAMES, registers: [registry] };
      if (field.type === 'counter') {
        return new Counter({
          ...base,
          collect() {
            // Mirrors a counter kept by the driver: the value is set, not accumulated here.
            this.reset();
            for (const { dcgmLabels, readings } of source.list()) {
              const value = readings ? field.value(readings) : null;
              if (value !== null) this.inc(dcgmLabels, value);
            }
          },
        });
      }
      return new Gauge({
        ...base,
        collect() {
          this.reset();
          for (const { dcgmLabels, readings } of source.list()) {
            const value = readings ? field.value(readings) : null;
            if (value !== null) this.set(dcgmLabels, value);
          }
        },
      });
    });
    this.metrics.push(
      new Gauge({
        name: DCGM_XID_ERRORS.name,
        help: DCGM_XID_ERRORS.help,
        labelNames: LABEL_NAMES,
        registers: [registry],
        collect() {
          this.reset();
          const series = source.list();
          const criticalXid = (uuid: string) =>
            series.find((s) => s.gpu.inventory.identity.uuid === uuid)?.gpu.health.findings().find((f) => f.reason === 'xid_critical')?.xid;
          const last = lastXid.update(monitor.xidEventCounts(), criticalXid);
          for (const { gpu, dcgmLabels } of series) this.set(dcgmLabels, last.get(gpu.inventory.identity.uuid) ?? 0);
        },
      }),
    );
  }
}

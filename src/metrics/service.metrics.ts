import { Inject, Injectable } from '@nestjs/common';
import { NVML_LATENCY_BUCKETS_MS, NvmlClient, nvmlReturnName } from '@app/nvml';
import { Counter, Gauge, type Registry } from 'prom-client';
import { GpuMonitor } from '../gpu/gpu.monitor.js';
import { GPU_POLICY } from '../gpu/gpu.policy.js';
import { gpuView, type GpuViewStatus } from '../gpu/gpu.view.js';
import { CumulativeHistogram } from './cumulative.histogram.js';
import { GPU_LABEL_NAMES } from './gpu.labels.js';
import { GpuSeriesSource } from './gpu.series.js';
import { METRICS_REGISTRY } from './metrics.registry.js';

/** Prefix of the service's own metrics. */
export const PREFIX = 'gpu_service_';

const GPU_STATUSES: readonly GpuViewStatus[] = ['up', 'degraded', 'down', 'lost'];

/**
 * The service's own metrics: GPU status and findings as the health policy sees them, snapshot
 * age, NVML call latency and errors per function (from the binding's call statistics), XID
 * events, NVML initialisation and whether the GPUs are simulated. All are read at scrape time
 * from GpuMonitor and NvmlClient state; none calls NVML.
 */
@Injectable()
export class ServiceMetrics {
  /** Held so the collectors' lifetime is this provider's. */
  readonly metrics: Array<Gauge | Counter | CumulativeHistogram>;

  constructor(
    @Inject(METRICS_REGISTRY) registry: Registry,
    source: GpuSeriesSource,
    monitor: GpuMonitor,
    nvml: NvmlClient,
  ) {
    const registers = [registry];
    const gpuLabels = [...GPU_LABEL_NAMES];
    this.metrics = [
      new Gauge({
        name: `${PREFIX}gpu_status`,
        help: 'Status of each monitored GPU under the health policy: 1 for the current status (up, degraded, down, lost), 0 for the others.',
        labelNames: [...gpuLabels, 'status'],
        registers,
        collect() {
          this.reset();
          const now = Date.now();
          for (const { gpu, labels } of source.list()) {
            const status = gpuView(gpu, now, false).status;
            for (const s of GPU_STATUSES) this.set({ ...labels, status: s }, s === status ? 1 : 0);
          }
        },
      }),
      new Gauge({
        name: `${PREFIX}gpu_findings`,
        help: 'Active health findings per GPU by reason (1 while in effect; absent otherwise); effect is what it does to readiness (warn or fail).',
        labelNames: [...gpuLabels, 'reason', 'effect'],
        registers,
        collect() {
          this.reset();
          for (const { gpu, labels } of source.list()) {
            for (const finding of gpu.health.findings()) {
              this.set({ ...labels, reason: finding.reason, effect: GPU_POLICY[finding.reason].readiness }, 1);
            }
          }
        },
      }),
      new Gauge({
        name: `${PREFIX}gpu_sample_age_seconds`,
        help: 'Age of the readings of each GPU, seconds (absent before its first completed sample).',
        labelNames: gpuLabels,
        registers,
        collect() {
          this.reset();
          const now = Date.now();
          for (const { gpu, labels } of source.list()) {
            if (gpu.sample) this.set(labels, Math.max(0, now - gpu.sample.sampledAtMs) / 1000);
          }
        },
      }),
      new Gauge({
        name: `${PREFIX}snapshot_age_seconds`,
        help: 'Time since the last completed sampling of every GPU, seconds (absent before the first).',
        registers,
        collect() {
          this.reset();
          const ageMs = monitor.snapshotAgeMs();
          if (ageMs !== null) this.set(ageMs / 1000);
        },
      }),
      new CumulativeHistogram(
        {
          name: `${PREFIX}nvml_call_duration_seconds`,
          help: 'Duration of NVML calls by function, seconds (measured around the C call on the worker thread).',
          labelNames: ['function'],
          buckets: NVML_LATENCY_BUCKETS_MS.map((ms) => ms / 1000),
          registers,
        },
        () =>
          nvml.callStats().map((s) => ({
            labels: { function: s.fn },
            cumulativeBuckets: s.cumulativeBuckets,
            sum: s.totalMs / 1000,
          })),
      ),
      new Counter({
        name: `${PREFIX}nvml_errors_total`,
        help: 'NVML calls that did not return NVML_SUCCESS, by function and nvmlReturn_t code (code "other" for codes not counted one by one).',
        labelNames: ['function', 'code', 'name'],
        registers,
        collect() {
          this.reset();
          for (const s of nvml.callStats()) {
            for (const [code, count] of Object.entries(s.errorsByCode)) {
              const other = Number(code) === -1;
              this.inc({ function: s.fn, code: other ? 'other' : code, name: other ? 'other' : nvmlReturnName(Number(code)) }, count);
            }
          }
        },
      }),
      new Gauge({
        name: `${PREFIX}nvml_initialized`,
        help: 'Whether NVML is initialised, 1 = yes, 0 = no (e.g. between a failed re-initialisation and the next attempt).',
        registers,
        collect() {
          this.set(monitor.nvmlStatus().initialized ? 1 : 0);
        },
      }),
      new Counter({
        name: `${PREFIX}nvml_reinitializations_total`,
        help: 'Successful NVML re-initialisations (shutdown and init after an error that asks for one), count.',
        registers,
        collect() {
          this.reset();
          this.inc(monitor.nvmlStatus().generation);
        },
      }),
      new Counter({
        name: `${PREFIX}xid_events_total`,
        help: 'XID events received from the driver per GPU and XID, count (ignored XIDs included).',
        labelNames: [...gpuLabels, 'xid'],
        registers,
        collect() {
          this.reset();
          const series = source.list();
          for (const [uuid, byXid] of monitor.xidEventCounts()) {
            const labels = series.find((s) => s.gpu.inventory.identity.uuid === uuid)?.labels;
            if (!labels) continue;
            for (const [xid, count] of byXid) this.inc({ ...labels, xid: String(xid) }, count);
          }
        },
      }),
      new Gauge({
        name: `${PREFIX}simulated`,
        help: 'Whether the GPUs are simulated (the GPU simulator library is loaded), 1 = yes with its preset, 0 = NVIDIA driver.',
        labelNames: ['preset'],
        registers,
        collect() {
          this.reset();
          const simulator = monitor.getInventory()?.library.simulator ?? null;
          if (simulator) this.set({ preset: simulator.preset ?? 'custom' }, 1);
          else this.set({ preset: '' }, 0);
        },
      }),
    ];
  }
}

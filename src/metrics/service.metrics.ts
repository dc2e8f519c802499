import { Inject, Injectable } from '@nestjs/common';
import { NVML_LATENCY_BUCKETS_MS, NvmlClient, nvmlReturnName } from '@app/nvml';
import { Counter, Gauge, type Registry } from 'prom-client';
import { GpuMonitor } from '../gpu/gpu.monitor.js';
import { GPU_POLICY } from '../gpu/gpu.policy.js';
import { GPU_VIEW_STATUSES, gpuSummary } from '../gpu/gpu.view.js';
import { CumulativeHistogram } from './cumulative.histogram.js';
import { GPU_LABEL_NAMES } from './gpu.labels.js';
import { GpuSeriesSource } from './gpu.series.js';
import { METRICS_REGISTRY } from './metrics.registry.js';
import { SnapshotCounter, SnapshotGauge } from './snapshot.metrics.js';

/** Prefix of the service's own metrics. */
export const PREFIX = 'gpu_service_';

const NO_LABELS: Readonly<Record<string, string>> = {};

/** One label object per NVML function, kept so the registry formats its text once. */
const FUNCTION_LABELS = new Map<string, { function: string }>();
function functionLabels(fn: string): { function: string } {
  let labels = FUNCTION_LABELS.get(fn);
  if (!labels) FUNCTION_LABELS.set(fn, (labels = { function: fn }));
  return labels;
}

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
      new SnapshotGauge(
        {
          name: `${PREFIX}gpu_status`,
          help: 'Status of each monitored GPU under the health policy: 1 for the current status (up, degraded, down, lost), 0 for the others.',
          labelNames: [...gpuLabels, 'status'],
          registers,
        },
        function* () {
          for (const { gpu, statusLabels } of source.list()) {
            const status = gpuSummary(gpu).status;
            for (const s of GPU_VIEW_STATUSES) yield { labels: statusLabels[s], value: s === status ? 1 : 0 };
          }
        },
      ),
      new SnapshotGauge(
        {
          name: `${PREFIX}gpu_findings`,
          help: 'Active health findings per GPU by reason (1 while in effect; absent otherwise); effect is what it does to readiness (warn or fail).',
          labelNames: [...gpuLabels, 'reason', 'effect'],
          registers,
        },
        function* () {
          for (const { gpu, labels } of source.list()) {
            for (const finding of gpu.health.findings()) {
              yield { labels: { ...labels, reason: finding.reason, effect: GPU_POLICY[finding.reason].readiness }, value: 1 };
            }
          }
        },
      ),
      new SnapshotGauge(
        {
          name: `${PREFIX}gpu_sample_age_seconds`,
          help: 'Age of the readings of each GPU, seconds (absent before its first completed sample).',
          labelNames: gpuLabels,
          registers,
        },
        function* () {
          const now = Date.now();
          for (const { gpu, labels } of source.list()) {
            if (gpu.sample) yield { labels, value: Math.max(0, now - gpu.sample.sampledAtMs) / 1000 };
          }
        },
      ),
      new SnapshotGauge(
        {
          name: `${PREFIX}snapshot_age_seconds`,
          help: 'Time since the last completed sampling of every GPU, seconds (absent before the first).',
          registers,
        },
        () => {
          const ageMs = monitor.snapshotAgeMs();
          return ageMs === null ? [] : [{ labels: NO_LABELS, value: ageMs / 1000 }];
        },
      ),
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
            labels: functionLabels(s.fn),
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
      new SnapshotCounter(
        {
          name: `${PREFIX}xid_events_total`,
          help: 'XID events received from the driver per GPU and XID, count (ignored XIDs included).',
          labelNames: [...gpuLabels, 'xid'],
          registers,
        },
        function* () {
          const counts = monitor.xidEventCounts();
          for (const { uuid, labels } of source.list()) {
            for (const [xid, count] of counts.get(uuid) ?? []) yield { labels: { ...labels, xid: String(xid) }, value: count };
          }
        },
      ),
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

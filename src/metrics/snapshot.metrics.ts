import { Counter, Gauge, type Registry } from 'prom-client';

/** One sample read at scrape time. */
export interface SnapshotSample {
  /**
   * Its labels. Pass the same object for the same series on every scrape (e.g. cached per GPU):
   * prom-client's registry then formats and escapes the label text once, not per scrape.
   */
  labels: Readonly<Record<string, string>>;
  value: number;
}

export interface SnapshotMetricConfig {
  name: string;
  help: string;
  labelNames?: readonly string[];
  registers: Registry[];
}

type Read = () => Iterable<SnapshotSample>;

// The registry formats `sharedLabels` once per object (a WeakMap cache) and skips those names in
// `labels`; prom-client's own histograms export their series labels this way. Giving the labels
// as both keeps JSON output complete and makes the text output cheap at 16 GPUs.
const exported = (samples: Iterable<SnapshotSample>) =>
  Array.from(samples, ({ labels, value }) => ({ labels, sharedLabels: labels, value }));

/**
 * A gauge whose samples are read when scraped (a custom collector): the values of external state
 * (GpuMonitor's snapshot) are reported as they are, and a series whose value is unknown is
 * simply not read, so it is absent rather than 0.
 */
export class SnapshotGauge extends Gauge {
  constructor(
    config: SnapshotMetricConfig,
    private readonly read: Read,
  ) {
    super({ ...config, labelNames: config.labelNames ? [...config.labelNames] : [] });
  }

  override async get(): ReturnType<Gauge['get']> {
    return { ...(await super.get()), values: exported(this.read()) };
  }
}

/**
 * A counter mirrored from a count kept elsewhere (the driver's energy and ECC counters, the
 * monitor's XID counts), read when scraped. The value is reported as read, never accumulated.
 */
export class SnapshotCounter extends Counter {
  constructor(
    config: SnapshotMetricConfig,
    private readonly read: Read,
  ) {
    super({ ...config, labelNames: config.labelNames ? [...config.labelNames] : [] });
  }

  override async get(): ReturnType<Counter['get']> {
    return { ...(await super.get()), values: exported(this.read()) };
  }
}

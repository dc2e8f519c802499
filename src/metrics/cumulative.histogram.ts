import { Histogram, type HistogramConfiguration } from 'prom-client';

/** One labelled series of a histogram kept elsewhere as cumulative counts. */
export interface CumulativeSeries {
  labels: Record<string, string>;
  /** Cumulative count per bucket bound, then the +Inf bucket (the total count). */
  cumulativeBuckets: readonly number[];
  sum: number;
}

/** prom-client's exported form: the series' labels go in `sharedLabels`, `le` in `labels`. */
interface ExportedValue {
  metricName: string;
  labels: Record<string, string | number>;
  sharedLabels: Record<string, string>;
  value: number;
}

/**
 * A Prometheus histogram whose buckets are read at scrape time from counts kept elsewhere (the
 * NVML binding sums them over its worker threads). prom-client's Histogram only takes single
 * observations, so this subclass supplies the values itself through `getForPromString`, the
 * method prom-client's registry reads a histogram with (and its `get` builds on); the registry,
 * the exposition format and the TYPE line stay prom-client's.
 */
export class CumulativeHistogram extends Histogram {
  private readonly metricName: string;
  private readonly helpText: string;
  private readonly bounds: readonly number[];

  constructor(
    config: Omit<HistogramConfiguration<string>, 'collect' | 'buckets'> & { buckets: readonly number[] },
    private readonly read: () => CumulativeSeries[],
  ) {
    super({ ...config, buckets: [...config.buckets] });
    this.metricName = config.name;
    this.helpText = config.help;
    this.bounds = config.buckets;
  }

  async getForPromString(): Promise<{ name: string; help: string; type: 'histogram'; values: ExportedValue[]; aggregator: 'sum' }> {
    const bucket = `${this.metricName}_bucket`;
    const values: ExportedValue[] = [];
    for (const series of this.read()) {
      const shared = series.labels;
      this.bounds.forEach((bound, i) => {
        values.push({ metricName: bucket, labels: { le: bound }, sharedLabels: shared, value: series.cumulativeBuckets[i] ?? 0 });
      });
      const count = series.cumulativeBuckets[this.bounds.length] ?? 0;
      values.push({ metricName: bucket, labels: { le: '+Inf' }, sharedLabels: shared, value: count });
      values.push({ metricName: `${this.metricName}_sum`, labels: {}, sharedLabels: shared, value: series.sum });
      values.push({ metricName: `${this.metricName}_count`, labels: {}, sharedLabels: shared, value: count });
    }
    return { name: this.metricName, help: this.helpText, type: 'histogram', values, aggregator: 'sum' };
  }
}

import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CumulativeHistogram, type CumulativeSeries } from './cumulative.histogram.js';
import { parseExposition, samplesOf, valueOf } from './testing/exposition.js';

describe('CumulativeHistogram', () => {
  it('exposes counts kept elsewhere as a Prometheus histogram, read at scrape time', async () => {
    const registry = new Registry();
    let series: CumulativeSeries[] = [];
    const histogram = new CumulativeHistogram(
      { name: 'calls_seconds', help: 'Call duration, seconds.', labelNames: ['function'], buckets: [0.001, 0.01], registers: [registry] },
      () => series,
    );
    expect(registry.getSingleMetric('calls_seconds')).toBe(histogram);
    expect(parseExposition(await registry.metrics()).samples).toEqual([]);

    series = [{ labels: { function: 'nvmlDeviceGetMemoryInfo_v2' }, cumulativeBuckets: [3, 5, 6], sum: 0.042 }];
    const text = await registry.metrics();
    const scrape = parseExposition(text);
    expect(scrape.type.get('calls_seconds')).toBe('histogram');
    expect(scrape.help.get('calls_seconds')).toBe('Call duration, seconds.');
    expect(samplesOf(scrape, 'calls_seconds_bucket').map((s) => [s.labels.le, s.value])).toEqual([
      ['0.001', 3],
      ['0.01', 5],
      ['+Inf', 6],
    ]);
    expect(valueOf(scrape, 'calls_seconds_sum', { function: 'nvmlDeviceGetMemoryInfo_v2' })).toBe(0.042);
    expect(valueOf(scrape, 'calls_seconds_count', { function: 'nvmlDeviceGetMemoryInfo_v2' })).toBe(6);
    expect(await registry.getMetricsAsJSON()).toEqual([expect.objectContaining({ name: 'calls_seconds', type: 'histogram', values: expect.any(Array) })]);
  });
});

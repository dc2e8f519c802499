import { describe, expect, it } from 'vitest';
import { fitLine, lowerMedian, percentile, scaleSummary, summarize, worstPointRatio, worstStepRatio } from './stats.js';

describe('percentile (nearest rank)', () => {
  const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

  it('picks the smallest sample with p % at or below it', () => {
    expect(percentile(sorted, 50)).toBe(5);
    expect(percentile(sorted, 90)).toBe(9);
    expect(percentile(sorted, 99)).toBe(10);
    expect(percentile(sorted, 100)).toBe(10);
    expect(percentile(sorted, 0)).toBe(1);
  });

  it('is exact at rank boundaries despite floating point', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 50)).toBe(50);
  });

  it('is NaN for no samples', () => {
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('summarize', () => {
  it('sorts a copy and reports every figure', () => {
    const input = [5, 1, 4, 2, 3];
    expect(summarize(input)).toEqual({ n: 5, mean: 3, min: 1, p50: 3, p90: 5, p99: 5, max: 5 });
    expect(input).toEqual([5, 1, 4, 2, 3]);
  });

  it('reports n = 0 and NaN figures for no samples', () => {
    const s = summarize([]);
    expect(s.n).toBe(0);
    expect(s.mean).toBeNaN();
    expect(s.p99).toBeNaN();
  });

  it('scales every figure but n', () => {
    expect(scaleSummary(summarize([1000, 2000]), 1e-3)).toEqual({ n: 2, mean: 1.5, min: 1, p50: 1, p90: 2, p99: 2, max: 2 });
  });
});

describe('fitLine', () => {
  it('finds slope, intercept and R² of a straight line', () => {
    const fit = fitLine([
      [1, 12],
      [2, 14],
      [4, 18],
      [8, 26],
    ]);
    expect(fit.slope).toBeCloseTo(2);
    expect(fit.intercept).toBeCloseTo(10);
    expect(fit.r2).toBeCloseTo(1);
  });

  it('reports a poor R² for points far off a line', () => {
    expect(fitLine([[1, 1], [2, 10], [3, 1], [4, 10]]).r2).toBeLessThan(0.5);
  });
});

describe('worstStepRatio', () => {
  it('is 1 for a straight line', () => {
    expect(worstStepRatio([[1, 10], [2, 20], [4, 40], [16, 160]])).toBeCloseTo(1);
  });

  it('shows a cliff as a large ratio', () => {
    expect(worstStepRatio([[1, 10], [2, 11], [4, 13], [8, 100]])).toBeGreaterThan(1.5);
  });
});

describe('lowerMedian', () => {
  it('keeps the measurement with the lower p50', () => {
    const a = summarize([1, 2, 3]);
    const b = summarize([2, 3, 4]);
    expect(lowerMedian(undefined, b)).toBe(b);
    expect(lowerMedian(a, b)).toBe(a);
    expect(lowerMedian(b, a)).toBe(a);
  });
});

describe('worstPointRatio', () => {
  it('is about 1 for points near their line, flat or not', () => {
    expect(worstPointRatio([[1, 100], [2, 102], [4, 99], [16, 101]])).toBeLessThan(1.05);
    expect(worstPointRatio([[1, 10], [2, 20], [4, 40]])).toBeCloseTo(1);
  });

  it('shows a point far above the line', () => {
    expect(worstPointRatio([[1, 100], [2, 100], [4, 100], [8, 100], [16, 400]])).toBeGreaterThan(1.5);
  });
});

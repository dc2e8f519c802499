/** Order statistics of one measurement, in the unit of its samples. */
export interface Summary {
  n: number;
  mean: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/**
 * The nearest-rank percentile of an ascending array: the smallest sample with at least `p` % of
 * the samples at or below it (the definition bench/nvml/nvml-bench.c uses too).
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const rank = Math.min(n, Math.max(1, Math.ceil((p / 100) * n - 1e-9)));
  return sorted[rank - 1]!;
}

/** Summarises samples (any order); an empty input gives NaN figures with n = 0. */
export function summarize(samples: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(samples).toSorted();
  const n = sorted.length;
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    n,
    mean: n === 0 ? Number.NaN : sum / n,
    min: n === 0 ? Number.NaN : sorted[0]!,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: n === 0 ? Number.NaN : sorted[n - 1]!,
  };
}

/** Every figure of a summary multiplied by `factor` (unit changes), n kept. */
export function scaleSummary(s: Summary, factor: number): Summary {
  return {
    n: s.n,
    mean: s.mean * factor,
    min: s.min * factor,
    p50: s.p50 * factor,
    p90: s.p90 * factor,
    p99: s.p99 * factor,
    max: s.max * factor,
  };
}

/** Of two measurements of the same thing, the one with the lower median (`kept` may be absent). */
export function lowerMedian(kept: Summary | undefined, next: Summary): Summary {
  return kept === undefined || next.p50 < kept.p50 ? next : kept;
}

/** Least-squares line through (x, y) points, with R² (1 when every point lies on it). */
export function fitLine(points: ReadonlyArray<readonly [number, number]>): { slope: number; intercept: number; r2: number } {
  const n = points.length;
  if (n < 2) return { slope: Number.NaN, intercept: Number.NaN, r2: Number.NaN };
  let sx = 0;
  let sy = 0;
  for (const [x, y] of points) {
    sx += x;
    sy += y;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const [x, y] of points) {
    sxx += (x - mx) ** 2;
    sxy += (x - mx) * (y - my);
    syy += (y - my) ** 2;
  }
  const slope = sxx === 0 ? Number.NaN : sxy / sxx;
  const intercept = my - slope * mx;
  const r2 = syy === 0 ? 1 : (sxy * sxy) / (sxx * syy);
  return { slope, intercept, r2 };
}

/**
 * The largest step cost between neighbouring points of a series sorted by x, as a multiple of
 * the average cost per unit of x over the whole range: about 1 for a straight line, well above
 * 1 where the cost jumps (a cliff).
 */
export function worstStepRatio(points: ReadonlyArray<readonly [number, number]>): number {
  if (points.length < 3) return Number.NaN;
  const sorted = points.toSorted((a, b) => a[0] - b[0]);
  const first = sorted[0]!;
  const last = sorted[sorted.length - 1]!;
  const average = (last[1] - first[1]) / (last[0] - first[0]);
  if (!(average > 0)) return Number.NaN;
  let worst = 0;
  for (let i = 1; i < sorted.length; i++) {
    const [x0, y0] = sorted[i - 1]!;
    const [x1, y1] = sorted[i]!;
    worst = Math.max(worst, (y1 - y0) / (x1 - x0) / average);
  }
  return worst;
}

/**
 * The largest ratio of a point to the least-squares line through all the points: about 1 when
 * they lie near it, well above 1 for a point that jumps off it (a cliff in a flat series).
 */
export function worstPointRatio(points: ReadonlyArray<readonly [number, number]>): number {
  const { slope, intercept } = fitLine(points);
  if (!Number.isFinite(slope)) return Number.NaN;
  return Math.max(...points.map(([x, y]) => y / (intercept + slope * x)));
}

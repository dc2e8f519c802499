import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const SECTIONS = ['nvml', 'http', 'startup', 'memory', 'hang'] as const;
export type Section = (typeof SECTIONS)[number];

/** What one run measures and for how long; read once from the environment. */
export interface BenchOptions {
  quick: boolean;
  sections: ReadonlySet<Section>;
  /** Seconds of each measured HTTP load run (after its warm-up). */
  loadSeconds: number;
  warmupSeconds: number;
  /** Milliseconds per measured NVML call or snapshot series. */
  nvmlMs: number;
  /** Simulated GPU counts of the full HTTP matrix. */
  simGpus: number[];
  /** Simulated GPU counts of the scale series (snapshot and readiness cost). */
  scaleGpus: number[];
  connections: number[];
  startupRuns: number;
  memoryRequests: number;
  /** auto: when a driver answers; off: never; on: fail when none does (or, with NVML_LIBRARY_PATH at the simulator, a dry run on it). */
  real: 'auto' | 'on' | 'off';
  /** Stop starting new work after this many seconds (the report is still written). */
  budgetSeconds: number;
  /** Extra folder for the report files (the GPU machine's $OUT). */
  outDir: string | null;
  resultsDir: string;
}

function number(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
}

function list(name: string, fallback: number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const values = raw.split(',').map((v) => Number(v.trim()));
  if (values.some((v) => !Number.isInteger(v) || v < 1 || v > 16)) throw new Error(`${name} must be a comma list of integers 1..16`);
  return values;
}

/**
 * BENCH_QUICK=1 (a short smoke run), BENCH_ONLY=nvml,http,startup,memory,hang,
 * BENCH_DURATION_S (HTTP run length), BENCH_SIM_GPUS, BENCH_SCALE_GPUS, BENCH_REAL=auto|on|off,
 * BENCH_BUDGET_S, BENCH_OUT.
 */
export function readOptions(): BenchOptions {
  const quick = ['1', 'true', 'yes'].includes(process.env.BENCH_QUICK ?? '');
  const only = (process.env.BENCH_ONLY ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = only.filter((s) => !(SECTIONS as readonly string[]).includes(s));
  if (unknown.length > 0) throw new Error(`BENCH_ONLY: unknown section ${unknown.join(', ')} (sections: ${SECTIONS.join(', ')})`);
  const real = process.env.BENCH_REAL ?? 'auto';
  if (real !== 'auto' && real !== 'on' && real !== 'off') throw new Error('BENCH_REAL must be auto, on or off');
  return {
    quick,
    sections: new Set((only.length > 0 ? only : SECTIONS) as Section[]),
    loadSeconds: number('BENCH_DURATION_S', quick ? 0.5 : 2),
    warmupSeconds: quick ? 0.2 : 0.5,
    nvmlMs: quick ? 40 : 250,
    simGpus: list('BENCH_SIM_GPUS', quick ? [1, 16] : [1, 8, 16]),
    scaleGpus: list('BENCH_SCALE_GPUS', quick ? [1, 4, 16] : [1, 2, 4, 8, 16]),
    connections: [1, 16, 64],
    startupRuns: quick ? 1 : 5,
    memoryRequests: quick ? 10_000 : 100_000,
    real,
    budgetSeconds: number('BENCH_BUDGET_S', 330),
    outDir: process.env.BENCH_OUT ? resolve(process.env.BENCH_OUT) : null,
    resultsDir: join(ROOT, 'bench', 'results'),
  };
}

import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from '../lib/context.js';
import { ROOT } from '../lib/options.js';
import { runJsonLines } from '../lib/proc.js';
import { lowerMedian as better, type Summary, summarize } from '../lib/stats.js';
import { baseEnv, type Target, type TargetInfo, targetInfo } from '../lib/targets.js';
import type { BindingJob, BindingResult } from './binding-child.js';
import { ROUNDS, TIMED_CALLS } from './calls.js';

const SOURCE = join(ROOT, 'bench', 'nvml', 'nvml-bench.c');
const BINARY = join(ROOT, 'build', 'bench', 'nvml-bench');
const HEADER_DIR = join(ROOT, '.tools', 'nvidia', 'include');

/**
 * Compiles bench/nvml/nvml-bench.c into build/bench/nvml-bench when it is missing or older than
 * its source (needs `cc` and NVIDIA's nvml.h in .tools/nvidia/include). A binary built on
 * another machine is used as it is when no compiler or header is here.
 * Returns the binary, or why there is none.
 */
export function ensureCBench(): { binary: string } | { missing: string } {
  const fresh = existsSync(BINARY) && statSync(BINARY).mtimeMs >= statSync(SOURCE).mtimeMs;
  if (fresh) return { binary: BINARY };
  const cc = process.env.CC ?? 'cc';
  const canBuild = existsSync(join(HEADER_DIR, 'nvml.h')) && spawnSync(cc, ['--version'], { stdio: 'ignore' }).status === 0;
  if (!canBuild) {
    return existsSync(BINARY) ? { binary: BINARY } : { missing: `cannot build ${SOURCE}: needs ${cc} and ${HEADER_DIR}/nvml.h` };
  }
  spawnSync('mkdir', ['-p', join(ROOT, 'build', 'bench')]);
  const result = spawnSync(cc, ['-std=c11', '-O2', '-Wall', '-Wextra', '-I', HEADER_DIR, '-o', BINARY, SOURCE, '-ldl'], { encoding: 'utf8' });
  if (result.status !== 0) return { missing: `${cc} failed: ${result.stderr.trim()}` };
  return { binary: BINARY };
}

/** What the C program printed for one run. */
export interface CResult {
  library: string;
  driverVersion: string;
  symbols: Record<string, string>;
  timer: Summary;
  calls: Array<{ fn: string; rc: number } & Summary>;
  snapshots: Record<number, Summary>;
  cycle: Summary | null;
}

export interface NvmlTargetResult {
  target: TargetInfo;
  c: CResult | { error: string };
  binding: BindingResult | { error: string };
  /** nvidia-smi --query-gpu per invocation, ms (real GPUs with nvidia-smi only). */
  nvidiaSmi: Summary | null;
  nvidiaSmiQuery: string | null;
}

export interface NvmlPlan {
  calls: boolean;
  snapshots: number[];
  cycleGpus: number;
  threaded: boolean;
  leakSeconds: number;
  nvidiaSmi: boolean;
}

const SUMMARY_KEYS = ['n', 'mean', 'min', 'p50', 'p90', 'p99', 'max'] as const;

function pickSummary(record: Record<string, unknown>): Summary {
  return Object.fromEntries(SUMMARY_KEYS.map((k) => [k, Number(record[k])])) as unknown as Summary;
}

function childEnv(target: Target): NodeJS.ProcessEnv {
  return { ...baseEnv(), ...target.env };
}

function runC(binary: string, ctx: BenchContext, target: Target, plan: NvmlPlan): CResult | { error: string } {
  const args = [...(target.nvmlLibrary ? ['--lib', target.nvmlLibrary] : []), '--ms', String(ctx.options.nvmlMs), 'info', 'timer'];
  if (plan.calls) args.push('call', ...TIMED_CALLS);
  // Snapshots in rounds of half the time each, as the binding's (see ROUNDS).
  args.push('--ms', String(ctx.options.nvmlMs / 2));
  for (let round = 0; round < ROUNDS; round++) for (const n of plan.snapshots) args.push('snapshot', String(n));
  if (plan.cycleGpus > 0) args.push('--ms', String(ctx.options.nvmlMs * 2), 'cycle', String(plan.cycleGpus));
  const run = runJsonLines(binary, args, childEnv(target), 300_000);
  const failed = run.records.find((r) => 'error' in r);
  if (failed || run.status !== 0) return { error: String(failed?.error ?? `exit ${run.status}: ${run.stderr.trim()}`) };
  const info = run.records.find((r) => r.cmd === 'info')!;
  const snapshots: Record<number, Summary> = {};
  for (const record of run.records.filter((r) => r.cmd === 'snapshot')) snapshots[Number(record.gpus)] = better(snapshots[Number(record.gpus)], pickSummary(record));
  const cycle = run.records.find((r) => r.cmd === 'cycle');
  return {
    library: String(info.library),
    driverVersion: String(info.driverVersion),
    symbols: info.symbols as Record<string, string>,
    timer: pickSummary(run.records.find((r) => r.cmd === 'timer')!),
    calls: run.records.filter((r) => r.cmd === 'call').map((r) => ({ fn: String(r.fn), rc: Number(r.rc), ...pickSummary(r) })),
    snapshots,
    cycle: cycle ? pickSummary(cycle) : null,
  };
}

function runBinding(ctx: BenchContext, target: Target, plan: NvmlPlan): BindingResult | { error: string } {
  const job: BindingJob = {
    library: target.nvmlLibrary,
    ms: ctx.options.nvmlMs,
    calls: plan.calls ? [...TIMED_CALLS] : [],
    snapshots: plan.snapshots,
    cycleGpus: plan.cycleGpus,
    threaded: plan.threaded,
    leakSeconds: plan.leakSeconds,
  };
  const script = join(ROOT, 'bench', 'nvml', 'binding-child.ts');
  const run = runJsonLines(process.execPath, ['--expose-gc', '--import', 'tsx', script, JSON.stringify(job)], childEnv(target), 300_000);
  const record = run.records.at(-1);
  if (!record) return { error: `exit ${run.status}: ${run.stderr.trim().split('\n').slice(-5).join(' ')}` };
  if ('error' in record) return { error: String(record.error) };
  return record as unknown as BindingResult;
}

/** The fields nvidia-smi is asked for: the readings of one snapshot that it can report. */
const SMI_QUERIES = [
  'index,uuid,memory.total,memory.reserved,memory.used,memory.free,temperature.gpu,power.draw,power.limit,utilization.gpu,utilization.memory,pstate,clocks_event_reasons.active,clocks.sm,clocks.mem,fan.speed,ecc.mode.current,ecc.errors.uncorrected.volatile.total,ecc.errors.corrected.volatile.total,ecc.errors.uncorrected.aggregate.total,mig.mode.current',
  // Older nvidia-smi: fields every version since the 400 series knows.
  'index,uuid,memory.total,memory.used,memory.free,temperature.gpu,power.draw,power.limit,utilization.gpu,utilization.memory,pstate,clocks.sm,clocks.mem,fan.speed',
];

/** nvidia-smi --query-gpu per invocation, ms; null without a working nvidia-smi. */
function nvidiaSmi(ctx: BenchContext, target: Target): { summary: Summary; query: string } | null {
  const env = childEnv(target);
  const query = SMI_QUERIES.find((q) => spawnSync('nvidia-smi', [`--query-gpu=${q}`, '--format=csv,noheader,nounits'], { stdio: 'ignore', env }).status === 0);
  if (query === undefined) return null;
  const args = [`--query-gpu=${query}`, '--format=csv,noheader,nounits'];
  const samples: number[] = [];
  const deadline = performance.now() + Math.max(1500, ctx.options.nvmlMs * 8);
  while (samples.length < 3 || (performance.now() < deadline && samples.length < 30)) {
    const t0 = performance.now();
    spawnSync('nvidia-smi', args, { stdio: 'ignore', env });
    samples.push(performance.now() - t0);
  }
  return { summary: summarize(samples), query };
}

/** NVML from C, through the binding, through the worker pool, and nvidia-smi, on one target. */
export function nvmlSuite(ctx: BenchContext, binary: string | null, target: Target, plan: NvmlPlan): NvmlTargetResult {
  ctx.log(`nvml: ${target.label}: C`);
  const c = binary ? runC(binary, ctx, target, plan) : { error: 'no C benchmark binary' };
  ctx.log(`nvml: ${target.label}: binding`);
  const binding = runBinding(ctx, target, plan);
  let smi: ReturnType<typeof nvidiaSmi> = null;
  if (plan.nvidiaSmi) {
    ctx.log(`nvml: ${target.label}: nvidia-smi`);
    smi = nvidiaSmi(ctx, target);
  }
  return {
    target: targetInfo(target),
    c,
    binding,
    nvidiaSmi: smi?.summary ?? null,
    nvidiaSmiQuery: smi?.query ?? null,
  };
}

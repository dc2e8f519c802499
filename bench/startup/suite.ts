import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BenchContext } from '../lib/context.js';
import { ROOT } from '../lib/options.js';
import { type Summary, summarize } from '../lib/stats.js';
import { startServer, type Target, type TargetInfo, targetInfo } from '../lib/targets.js';

/** The GPU check's own breakdown, from its summary log line (`timings`), ms. */
export interface GpuCheckTimings {
  nvmlInitMs: number | null;
  enumerateMs: number | null;
  cudaInitMs: number | null;
  smokeTestMs: number | null;
  totalMs: number | null;
}

/** One start of `node dist/src/main.js`, ms after the spawn call. */
export interface StartupRun {
  /** The process existed (Node's performance.timeOrigin). */
  processStartMs: number;
  /** The first JavaScript ran (a preload given with --import): Node's own start-up is done. */
  userCodeMs: number;
  /** The first log line arrived: the GPU check's summary (it runs as the application bootstraps). */
  firstLogMs: number;
  /** The "listening on" line arrived. */
  listeningMs: number;
  /** The first 200 on /health/startup (polled every 5 ms from the spawn on). */
  readyMs: number;
  gpuCheck: GpuCheckTimings;
  /** firstLogMs - userCodeMs - gpuCheck.totalMs: module loading, dependency injection, the OpenAPI document. */
  nestInitMs: number | null;
}

export interface StartupTargetResult {
  target: TargetInfo;
  /** The starts read a V8 code cache of the module graph (NODE_COMPILE_CACHE, filled by one unmeasured start), as the container image does. */
  compileCache: boolean;
  runs: StartupRun[];
  summary: Record<Exclude<keyof StartupRun, 'gpuCheck'> | `gpuCheck.${keyof GpuCheckTimings}`, Summary>;
}

const PRELOAD = pathToFileURL(join(ROOT, 'bench', 'startup', 'preload.mjs')).href;

async function once(target: Target, env: Record<string, string>): Promise<StartupRun> {
  const server = await startServer(target, { entry: 'main', nodeArgs: ['--import', PRELOAD], waitReady: false, env });
  const { child, spawnedAtMs: spawnedAt } = server;
  const since = (): number => performance.timeOrigin + performance.now() - spawnedAt;
  try {
    let firstLogMs = Number.NaN;
    let listeningMs = Number.NaN;
    const marks = (async () => {
      await child.waitForLine(/^\{"level"/, 60_000);
      firstLogMs = since();
      await child.waitForLine(/"msg":"listening on /, 60_000);
      listeningMs = since();
    })();
    let readyMs = Number.NaN;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (!child.running) throw new Error(`service exited:\n${child.output.slice(-10).join('\n')}`);
      const res = await fetch(`${server.baseUrl}/health/startup`).catch(() => null);
      if (res) await res.arrayBuffer();
      if (res?.status === 200) {
        readyMs = since();
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await marks;
    const preload = JSON.parse(await child.waitForLine(/"benchPreload"/, 1_000)) as { benchPreload: { timeOriginMs: number; userCodeMs: number } };
    const summaryLine = child.output.find((line) => line.includes('"timings"'));
    const timings = summaryLine ? ((JSON.parse(summaryLine) as { timings: GpuCheckTimings }).timings) : null;
    const gpuCheck: GpuCheckTimings = {
      nvmlInitMs: timings?.nvmlInitMs ?? null,
      enumerateMs: timings?.enumerateMs ?? null,
      cudaInitMs: timings?.cudaInitMs ?? null,
      smokeTestMs: timings?.smokeTestMs ?? null,
      totalMs: timings?.totalMs ?? null,
    };
    const userCodeMs = preload.benchPreload.userCodeMs - spawnedAt;
    return {
      processStartMs: preload.benchPreload.timeOriginMs - spawnedAt,
      userCodeMs,
      firstLogMs,
      listeningMs,
      readyMs,
      gpuCheck,
      nestInitMs: gpuCheck.totalMs === null ? null : firstLogMs - userCodeMs - gpuCheck.totalMs,
    };
  } finally {
    await server.stop();
  }
}

/**
 * Starts the production entry `runs` times on `target`, one after another; with `compileCache`,
 * from a fresh NODE_COMPILE_CACHE directory that one unmeasured start fills first.
 */
export async function startupSuite(ctx: BenchContext, target: Target, runs: number, { compileCache = false } = {}): Promise<StartupTargetResult> {
  // The first fetch loads undici; do it before any timing.
  await fetch('http://127.0.0.1:1/').catch(() => null);
  const cacheDir = compileCache ? mkdtempSync(join(tmpdir(), 'gpu-bench-compile-cache-')) : null;
  const env: Record<string, string> = cacheDir ? { NODE_COMPILE_CACHE: cacheDir } : {};
  const label = `${target.id}${cacheDir ? ' (compile cache)' : ''}`;
  const results: StartupRun[] = [];
  try {
    if (cacheDir) await once(target, env);
    for (let i = 0; i < runs; i++) {
      const run = await once(target, env);
      results.push(run);
      ctx.log(`  ${label} start ${i + 1}/${runs}: ready after ${run.readyMs.toFixed(0)} ms (GPU check ${run.gpuCheck.totalMs?.toFixed(0) ?? '?'} ms)`);
    }
  } finally {
    if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
  }
  const pick = (f: (r: StartupRun) => number | null): Summary => summarize(results.map(f).filter((v): v is number => v !== null && Number.isFinite(v)));
  return {
    target: targetInfo(target),
    compileCache,
    runs: results,
    summary: {
      processStartMs: pick((r) => r.processStartMs),
      userCodeMs: pick((r) => r.userCodeMs),
      firstLogMs: pick((r) => r.firstLogMs),
      listeningMs: pick((r) => r.listeningMs),
      readyMs: pick((r) => r.readyMs),
      nestInitMs: pick((r) => r.nestInitMs),
      'gpuCheck.nvmlInitMs': pick((r) => r.gpuCheck.nvmlInitMs),
      'gpuCheck.enumerateMs': pick((r) => r.gpuCheck.enumerateMs),
      'gpuCheck.cudaInitMs': pick((r) => r.gpuCheck.cudaInitMs),
      'gpuCheck.smokeTestMs': pick((r) => r.gpuCheck.smokeTestMs),
      'gpuCheck.totalMs': pick((r) => r.gpuCheck.totalMs),
    },
  };
}

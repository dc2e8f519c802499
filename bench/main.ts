// `npm run bench`: builds what is missing, runs every benchmark this machine supports (the
// simulator ones always, the real-GPU ones when NVML initialises on a driver), writes
// bench/results/<date>-<host>.{md,json} (and to $BENCH_OUT), and prints the report.
// `npm run bench:build` only builds (dist/, the simulator, the C program); `--render FILE.json`
// writes the markdown of a saved report again. Options: see bench/lib/options.ts and
// docs/benchmarks.md.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hangSuite } from './hang/suite.js';
import { LoadGenerator } from './http/load.js';
import { type RouteName, ROUTES } from './http/routes.js';
import { httpSuite } from './http/suite.js';
import { ensureBuilt } from './lib/build.js';
import { BenchContext } from './lib/context.js';
import { machineInfo } from './lib/machine.js';
import { readOptions, ROOT, type Section, SECTIONS } from './lib/options.js';
import { planCores, runJsonLines } from './lib/proc.js';
import { type BenchReport, evaluateGoals, renderMarkdown } from './lib/report.js';
import { baseEnv, realTarget, simTarget, type Target } from './lib/targets.js';
import { memorySuite } from './memory/suite.js';
import type { ProbeResult } from './nvml/probe-child.js';
import { ensureCBench, nvmlSuite } from './nvml/suite.js';
import { startupSuite } from './startup/suite.js';

const ALL_ROUTES = Object.keys(ROUTES) as RouteName[];

function probeDriver(): ProbeResult {
  const env: NodeJS.ProcessEnv = { ...baseEnv(), ...realTarget([], false).env };
  const run = runJsonLines(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'nvml', 'probe-child.ts')], env, 60_000);
  return (run.records.at(-1) as ProbeResult | undefined) ?? { ok: false, error: run.stderr.trim().split('\n').at(-1) ?? `exit ${run.status}` };
}

/** `--render FILE.json`: the markdown of a saved report again (goals re-judged), beside it. */
function render(file: string): void {
  const report = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
  report.goals = evaluateGoals(report);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(file.replace(/\.json$/, '.md'), renderMarkdown(report));
}

async function main(): Promise<void> {
  const renderAt = process.argv.indexOf('--render');
  if (renderAt >= 0) {
    render(process.argv[renderAt + 1] ?? '');
    return;
  }
  const options = readOptions();
  const ctx = new BenchContext(options, planCores());
  ctx.log('building what is missing');
  const built = ensureBuilt();
  const cBench = ensureCBench();
  if (built.length > 0) ctx.log(`built: ${built.join(', ')}`);
  if ('missing' in cBench) ctx.log(`C benchmark unavailable: ${cBench.missing}`);
  if (process.argv.includes('--build-only')) return;

  const machine = machineInfo(ctx.plan);
  ctx.log(`${machine.host}: ${machine.cores} cores (server ${machine.serverCores.join(',')}, load ${machine.loadCores.join(',')}${machine.pinned ? '' : ', not pinned'}), Node ${machine.node}`);

  const report: BenchReport = {
    schema: 1,
    machine,
    options: {
      quick: options.quick,
      sections: [...options.sections],
      loadSeconds: options.loadSeconds,
      warmupSeconds: options.warmupSeconds,
      nvmlMs: options.nvmlMs,
      simGpus: options.simGpus,
      scaleGpus: options.scaleGpus,
      startupRuns: options.startupRuns,
      memoryRequests: options.memoryRequests,
    },
    command: commandLine(),
    real: null,
    cBenchmark: 'binary' in cBench ? null : cBench.missing,
    nvml: [],
    http: [],
    startup: [],
    memory: [],
    hang: null,
    notes: built.filter((note) => note !== 'nest build').map((note) => `Build: ${note}.`),
    goals: [],
    durationS: 0,
  };

  // The real GPUs, when a driver answers.
  let real: Target | null = null;
  if (options.real !== 'off') {
    const probe = probeDriver();
    report.real = probe;
    // BENCH_REAL=on with NVML_LIBRARY_PATH at the simulator runs the real-GPU path on it (a dry run).
    const dryRun = probe.ok && probe.simulated === true && options.real === 'on';
    if (probe.ok && (!probe.simulated || dryRun) && (probe.gpus?.length ?? 0) > 0) {
      real = realTarget(probe.gpus!.map((g) => g.name), dryRun);
      ctx.log(`${dryRun ? 'dry run of the real-GPU path on the simulator' : 'real GPUs'}: ${real.label}, driver ${probe.driverVersion}`);
    } else {
      const why = probe.ok ? (probe.simulated ? 'NVML_LIBRARY_PATH points at the simulator (BENCH_REAL=on runs the real-GPU path on it)' : 'no GPU visible') : probe.error;
      ctx.log(`no real GPU: ${why}`);
      report.notes.push(`Real-GPU benchmarks not run: ${why}.`);
      if (options.real === 'on') throw new Error(`BENCH_REAL=on but no driver answers: ${why}`);
    }
  }

  const binary = 'binary' in cBench ? cBench.binary : null;
  const load = await LoadGenerator.start(ctx.plan);
  const step = async (what: string, work: () => Promise<void> | void): Promise<void> => {
    if (ctx.overBudget()) {
      report.notes.push(`Skipped (time budget of ${options.budgetSeconds} s used): ${what}.`);
      ctx.log(`skipped (budget): ${what}`);
      return;
    }
    ctx.log(what);
    try {
      await work();
    } catch (error) {
      report.notes.push(`Failed: ${what}: ${(error as Error).message.split('\n')[0]}`);
      ctx.log(`FAILED: ${what}: ${(error as Error).stack ?? String(error)}`);
    }
    // What is done so far reaches the disk (and $BENCH_OUT) even if a later step hangs.
    report.durationS = ctx.elapsedS();
    write();
  };
  const has = (section: Section): boolean => options.sections.has(section);
  const write = (): string => writeReport(report, options.resultsDir, options.outDir, real);

  try {
    const sim1 = simTarget(1);
    const maxScale = Math.max(...options.scaleGpus, ...options.simGpus);
    const simMax = simTarget(maxScale);

    if (real) {
      const r = real;
      if (has('nvml')) {
        await step('nvml on the real GPUs', () => {
          report.nvml.push(nvmlSuite(ctx, binary, r, { calls: true, snapshots: [...new Set([1, r.gpus])], cycleGpus: r.gpus, threaded: true, leakSeconds: options.quick ? 1 : 3, nvidiaSmi: true }));
        });
      }
      if (has('http')) {
        await step('http on the real GPUs', async () => {
          report.http.push(await httpSuite(ctx, load, r, { routes: ALL_ROUTES, connections: options.connections, probeLike: true }));
        });
      }
      if (has('startup')) {
        await step('start-up on the real GPUs', async () => void report.startup.push(await startupSuite(ctx, r, options.startupRuns)));
        await step('start-up on the real GPUs, compile cache', async () => void report.startup.push(await startupSuite(ctx, r, options.startupRuns, { compileCache: true })));
      }
      if (has('memory')) await step('memory on the real GPUs', async () => void report.memory.push(await memorySuite(ctx, load, r, options.memoryRequests)));
    }

    if (has('nvml')) {
      await step(`nvml on ${sim1.label}`, () => {
        report.nvml.push(nvmlSuite(ctx, binary, sim1, { calls: true, snapshots: [1], cycleGpus: 1, threaded: true, leakSeconds: options.quick ? 1 : 3, nvidiaSmi: false }));
      });
      await step(`nvml scale on ${simMax.label}`, () => {
        report.nvml.push(nvmlSuite(ctx, binary, simMax, { calls: false, snapshots: options.scaleGpus, cycleGpus: maxScale, threaded: true, leakSeconds: 0, nvidiaSmi: false }));
      });
    }
    if (has('http')) {
      // Beside real GPUs the simulated ones serve the scale series: the probes and the ceiling
      // only, which keeps the whole run within its time on a GPU machine.
      const simRoutes: RouteName[] = real ? ['bare', 'live', 'ready'] : ALL_ROUTES;
      for (const gpus of options.simGpus) {
        await step(`http on ${gpus} simulated GPU(s)`, async () => {
          report.http.push(await httpSuite(ctx, load, simTarget(gpus), { routes: simRoutes, connections: options.connections, probeLike: gpus === 1 }));
        });
      }
      for (const gpus of options.scaleGpus.filter((n) => !options.simGpus.includes(n))) {
        await step(`readiness on ${gpus} simulated GPUs (scale)`, async () => {
          report.http.push(await httpSuite(ctx, load, simTarget(gpus), { routes: ['ready'], connections: [1, 64], probeLike: false }));
        });
      }
    }
    if (has('startup')) {
      await step(`start-up on ${sim1.label}`, async () => void report.startup.push(await startupSuite(ctx, sim1, options.startupRuns)));
      await step(`start-up on ${sim1.label}, compile cache`, async () => void report.startup.push(await startupSuite(ctx, sim1, options.startupRuns, { compileCache: true })));
      await step(`start-up on ${simMax.label}`, async () => void report.startup.push(await startupSuite(ctx, simMax, Math.min(3, options.startupRuns))));
    }
    if (has('memory')) await step(`memory on ${sim1.label}`, async () => void report.memory.push(await memorySuite(ctx, load, sim1, options.memoryRequests)));
    if (has('hang')) await step('hang isolation on 2 simulated GPUs', async () => void (report.hang = await hangSuite(ctx, load)));
  } finally {
    await load.close();
  }

  report.durationS = ctx.elapsedS();
  report.goals = evaluateGoals(report);
  const markdown = write();
  process.stdout.write(`${markdown}\n`);
  ctx.log(`done in ${report.durationS.toFixed(0)} s`);
}

function commandLine(): string {
  const vars = Object.entries(process.env)
    .filter(([key]) => key.startsWith('BENCH_') || key === 'NVML_LIBRARY_PATH' || key === 'CUDA_LIBRARY_PATH')
    .map(([key, value]) => `${key}=${value}`);
  return [...vars, 'npm run bench'].join(' ');
}

/** Writes <date>-<host>.{md,json} and, for a complete run, latest-<sim|gpu model>.{md,json}; returns the markdown. */
function writeReport(report: BenchReport, resultsDir: string, outDir: string | null, real: Target | null): string {
  const markdown = renderMarkdown(report);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const stamp = report.machine.date.slice(0, 19).replaceAll(':', '').replace('T', '-');
  const model = real?.label.match(/\b([A-Z]\d{2,4}[A-Za-z]*)\b/)?.[1]?.toLowerCase() ?? 'gpu';
  // Only a complete run replaces a latest copy: not a quick one, one of some sections, or a dry
  // run of the real-GPU path on the simulator.
  const dryRun = real !== null && report.real?.simulated === true;
  const complete = !report.options.quick && (report.options.sections as string[]).length === SECTIONS.length && !dryRun;
  const names = [`${stamp}-${report.machine.host}${dryRun ? '-dry-run' : ''}`, ...(complete ? [`latest-${real ? model : 'sim'}`] : [])];
  for (const dir of [resultsDir, ...(outDir ? [outDir] : [])]) {
    mkdirSync(dir, { recursive: true });
    for (const name of names) {
      writeFileSync(join(dir, `${name}.md`), markdown);
      writeFileSync(join(dir, `${name}.json`), json);
    }
  }
  return markdown;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});

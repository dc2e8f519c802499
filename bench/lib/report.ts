import type { HangResult } from '../hang/suite.js';
import type { LoadResult } from '../http/load.js';
import type { HttpRun, HttpTargetResult } from '../http/suite.js';
import type { MemoryTargetResult } from '../memory/suite.js';
import type { BindingResult } from '../nvml/binding-child.js';
import type { ProbeResult } from '../nvml/probe-child.js';
import type { NvmlTargetResult } from '../nvml/suite.js';
import type { StartupTargetResult } from '../startup/suite.js';
import type { MachineInfo } from './machine.js';
import { fitLine, type Summary, worstPointRatio, worstStepRatio } from './stats.js';

/** Everything one run measured (the JSON report). */
export interface BenchReport {
  schema: 1;
  machine: MachineInfo;
  options: Record<string, unknown>;
  /** The command and BENCH_* variables of this run. */
  command: string;
  /** What the driver probe found (null with BENCH_REAL=off). */
  real: ProbeResult | null;
  /** Why the C benchmark could not run, when it could not. */
  cBenchmark: string | null;
  nvml: NvmlTargetResult[];
  http: HttpTargetResult[];
  startup: StartupTargetResult[];
  memory: MemoryTargetResult[];
  hang: HangResult | null;
  notes: string[];
  goals: Goal[];
  durationS: number;
}

/** One goal of the issue, as measured here. */
export interface Goal {
  id: string;
  goal: string;
  /** The target it was measured on (goals meant for the H200 say so when measured elsewhere). */
  on: string;
  figure: string;
  /** null: not measured, or measured only where the goal does not apply (the simulator). */
  met: boolean | null;
  note: string;
}

const MIB = 2 ** 20;

// ---- formatting --------------------------------------------------------------------------------

/** Nanoseconds in the unit that suits them. */
export function ns(value: number): string {
  if (!Number.isFinite(value)) return '–';
  if (value < 1_000) return `${value.toFixed(0)} ns`;
  if (value < 1_000_000) return `${(value / 1_000).toFixed(value < 10_000 ? 2 : 1)} µs`;
  return `${(value / 1_000_000).toFixed(2)} ms`;
}

/** Milliseconds with three significant figures or so. */
export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  if (value < 10) return value.toFixed(2);
  if (value < 100) return value.toFixed(1);
  return value.toFixed(0);
}

function x(value: number): string {
  return Number.isFinite(value) ? `${value < 10 ? value.toFixed(2) : value.toFixed(0)}×` : '–';
}

function mib(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / MIB).toFixed(1)} MiB` : '–';
}

function signedMib(bytes: number): string {
  return `${bytes >= 0 ? '+' : '−'}${mib(Math.abs(bytes))}`;
}

function int(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '–' : Math.round(value).toLocaleString('en-US');
}

function line(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function table(header: string[], rows: string[][]): string {
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function mark(met: boolean | null): string {
  return met === null ? 'n/a' : met ? '**met**' : '**missed**';
}

// ---- lookups -----------------------------------------------------------------------------------

function hasFigures<T extends object>(value: T | { error: string }): value is T {
  return !('error' in value);
}

function run(result: HttpTargetResult | undefined, route: string, connections: number, mode: HttpRun['mode'] = 'closed'): HttpRun | undefined {
  return result?.runs.find((r) => r.route === route && r.connections === connections && r.mode === mode);
}

function httpFor(report: BenchReport, id: string): HttpTargetResult | undefined {
  return report.http.find((h) => h.target.id === id);
}

/** The real GPUs when measured, else the first simulated target. */
function preferred<T extends { target: { kind: 'sim' | 'real' } }>(items: T[], pred: (item: T) => boolean = () => true): T | undefined {
  return items.find((i) => i.target.kind === 'real' && pred(i)) ?? items.find((i) => i.target.kind === 'sim' && pred(i));
}

/** Goals meant for the H200 are judged only on real GPUs; elsewhere the figure is shown alone. */
function judged(kind: 'sim' | 'real', ok: boolean): boolean | null {
  return kind === 'real' ? ok : null;
}

// ---- goals -------------------------------------------------------------------------------------

export function evaluateGoals(report: BenchReport): Goal[] {
  const goals: Goal[] = [];
  const simNote = 'simulator (the goal is for the H200 host: figure shown, not judged)';

  // 1. Snapshot through the binding against C.
  const nv = preferred(report.nvml, (n) => hasFigures(n.c) && hasFigures(n.binding) && n.binding.snapshots[1] !== undefined);
  if (nv && hasFigures(nv.c) && hasFigures(nv.binding)) {
    const ratio = nv.binding.snapshots[1]!.p50 / nv.c.snapshots[1]!.p50;
    goals.push({
      id: '1',
      goal: 'snapshot of one GPU through the binding ≤ 1.5× C (p50)',
      on: nv.target.kind === 'real' ? nv.target.label : `${nv.target.label}, ${simNote}`,
      figure: `${ns(nv.binding.snapshots[1]!.p50)} vs ${ns(nv.c.snapshots[1]!.p50)}: ${x(ratio)}`,
      met: judged(nv.target.kind, ratio <= 1.5),
      note: 'NvmlLibrary.sampleDevice with its call statistics, as the worker threads run it',
    });
  } else goals.push(notMeasured('1', 'snapshot through the binding ≤ 1.5× C'));

  // 2a. Readiness p99 at 64 connections.
  const h = preferred(report.http, (r) => run(r, 'ready', 64) !== undefined);
  const ready64 = run(h, 'ready', 64);
  if (h && ready64) {
    const paced = run(h, 'ready', 64, 'paced');
    const fresh = run(h, 'ready', 1, 'fresh');
    goals.push({
      id: '2a',
      goal: '/health/ready p99 ≤ 2 ms at 64 connections (H200 host)',
      on: h.target.kind === 'real' ? h.target.label : `${h.target.label}, ${simNote}`,
      figure: `${ms(ready64.latencyMs.p99)} ms at ${int(ready64.requestsPerSecond)} req/s (closed loop)${paced ? `; ${ms(paced.latencyMs.p99)} ms paced at ${int(paced.ratePerSecond)} req/s` : ''}${fresh ? `; ${ms(fresh.latencyMs.p99)} ms with a new connection per request (as kubelet)` : ''}`,
      met: judged(h.target.kind, ready64.latencyMs.p99 <= 2),
      note: `closed loop: 64 requests always in flight, so latency ≈ 64 / throughput${bare64Of(h) ? `; the bare route there: p99 ${ms(bare64Of(h)!.latencyMs.p99)} ms at ${int(bare64Of(h)!.requestsPerSecond)} req/s` : ''}`,
    });
  } else goals.push(notMeasured('2a', '/health/ready p99 ≤ 2 ms at 64 connections'));

  // 2b. Readiness throughput against the bare route.
  const bare64 = run(h, 'bare', 64);
  if (h && ready64 && bare64) {
    const share = ready64.requestsPerSecond / bare64.requestsPerSecond;
    goals.push({
      id: '2b',
      goal: '/health/ready throughput ≥ 50 % of the bare route (64 connections)',
      on: h.target.label,
      figure: `${int(ready64.requestsPerSecond)} vs ${int(bare64.requestsPerSecond)} req/s: ${(share * 100).toFixed(0)} %`,
      met: share >= 0.5,
      note: `server CPU per request ${ms(ready64.serverCpuUsPerRequest)} µs vs ${ms(bare64.serverCpuUsPerRequest)} µs`,
    });
  } else goals.push(notMeasured('2b', '/health/ready throughput ≥ 50 % of the bare route'));

  // 3. The seed's per-request init/query/shutdown against a readiness request.
  const seed = preferred(report.nvml, (n) => hasFigures(n.c) && n.c.cycle !== null && run(httpFor(report, n.target.id), 'ready', 1) !== undefined);
  if (seed && hasFigures(seed.c) && seed.c.cycle) {
    const ready1 = run(httpFor(report, seed.target.id), 'ready', 1)!;
    const ratio = seed.c.cycle.p50 / 1e6 / ready1.latencyMs.p50;
    goals.push({
      id: '3',
      goal: 'readiness ≥ 50× faster than NVML init + query + shutdown per request',
      on: seed.target.kind === 'real' ? seed.target.label : `${seed.target.label} (simulator: its nvmlInit_v2 costs microseconds, a driver's milliseconds)`,
      figure: `${ns(seed.c.cycle.p50)} (C, no HTTP) vs ${ns(ready1.latencyMs.p50 * 1e6)} (HTTP round trip): ${x(ratio)}`,
      met: judged(seed.target.kind, ratio >= 50),
      note: 'p50; the per-request cycle is timed in C, without any HTTP cost, so the ratio is a lower bound',
    });
  } else goals.push(notMeasured('3', 'readiness ≥ 50× faster than NVML init + query + shutdown per request'));

  // 4. Start-up.
  // Judged as the container image starts: with its compile cache (reports from before the cache
  // variant existed have only starts without it).
  const st = preferred(report.startup, (s) => s.compileCache === true) ?? preferred(report.startup);
  if (st) {
    const cold = st.compileCache ? report.startup.find((s) => !s.compileCache && s.target.id === st.target.id) : undefined;
    const figure = (s: StartupTargetResult): string => `p50 ${ms(s.summary.readyMs.p50)} ms, worst ${ms(s.summary.readyMs.max)} ms (${s.runs.length} starts)`;
    goals.push({
      id: '4',
      goal: 'process start to first 200 on /health/startup ≤ 1.5 s (H200)',
      on: st.target.kind === 'real' ? st.target.label : `${st.target.label}, ${simNote}`,
      figure: st.compileCache ? `${figure(st)} with the compile cache the image ships${cold ? `; without it ${figure(cold)}` : ''}` : figure(st),
      met: judged(st.target.kind, st.summary.readyMs.max <= 1500),
      note: `GPU check ${ms(st.summary['gpuCheck.totalMs'].p50)} ms of it (CUDA smoke test ${ms(st.summary['gpuCheck.smokeTestMs'].p50)} ms)`,
    });
  } else goals.push(notMeasured('4', 'start-up ≤ 1.5 s'));

  // 5. Memory.
  const mem = preferred(report.memory);
  if (mem) {
    const growth = mem.afterRssBytes - mem.idleRssBytes;
    const heap = mem.heapAfterGcBytes;
    goals.push({
      id: '5',
      goal: `RSS growth ≤ 5 MB over ${int(mem.warmupRequests + mem.requests)} readiness requests`,
      on: mem.target.label,
      figure: `${signedMib(growth)} (${mib(mem.idleRssBytes)} idle → ${mib(mem.afterRssBytes)})${heap ? `; JS heap after a full GC ${signedMib(heap.after - heap.warm)} over the last ${int(mem.requests)}` : ''}`,
      met: growth <= 5e6,
      note: 'RSS from /proc/<pid>/status; the retained JS heap tells a leak from allocator and V8 sizing',
    });
  } else goals.push(notMeasured('5', 'RSS growth ≤ 5 MB'));

  // 6. Liveness while an NVML call hangs.
  if (report.hang) {
    const one = report.hang.during.find((r) => r.connections === 1);
    const many = report.hang.during.find((r) => r.connections === 64);
    const oneBefore = report.hang.before.find((r) => r.connections === 1);
    goals.push({
      id: '6',
      goal: '/health/live p99 ≤ 5 ms while an NVML call is blocked',
      on: `${report.hang.gpus} simulated GPUs, ${report.hang.fault}`,
      figure: `p99 ${ms(one?.latencyMs.p99)} ms at 1 connection (${ms(oneBefore?.latencyMs.p99)} ms before the fault); ${ms(many?.latencyMs.p99)} ms at 64 (${ms(report.hang.before.find((r) => r.connections === 64)?.latencyMs.p99)} ms before)`,
      met: one ? one.latencyMs.p99 <= 5 && report.hang.blockedAtEnd > 0 : null,
      note: `judged at 1 connection (a kubelet probe); calls still blocked at the end: ${report.hang.blockedAtEnd}`,
    });
  } else goals.push(notMeasured('6', '/health/live p99 ≤ 5 ms while an NVML call hangs'));

  // 7. Scale.
  const scale = scaleFigures(report);
  if (scale.snapshot.length >= 3) {
    const fit = fitLine(scale.snapshot.map(([n, s]) => [n, s.binding] as const));
    const step = worstStepRatio(scale.snapshot.map(([n, s]) => [n, s.binding] as const));
    // Readiness is nearly flat in GPUs, so its cliff test is a point far above the fitted line.
    const ready = scale.ready.filter(([, r]) => r.cpuUs !== null).map(([n, r]) => [n, r.cpuUs!] as const);
    const readyFit = fitLine(ready);
    const readyWorst = worstPointRatio(ready);
    const readiness =
      ready.length < 3
        ? 'readiness not measured'
        : `readiness ${ms(readyFit.intercept)} µs + ${ms(readyFit.slope)} µs per GPU of server CPU per request, worst point ${x(readyWorst)} its line`;
    goals.push({
      id: '7',
      goal: 'snapshot and readiness cost linear in GPUs (1 to 16), no cliff',
      on: 'simulated H200s',
      figure: `snapshot: R² ${fit.r2.toFixed(3)}, ${ns(fit.slope)} per GPU, worst step ${x(step)} the average; ${readiness}`,
      met: fit.r2 >= 0.95 && step <= 2 && (ready.length < 3 || readyWorst <= 1.5),
      note: 'snapshot: R² ≥ 0.95 and no step over 2× the average slope; readiness: no point over 1.5× its fitted line',
    });
  } else goals.push(notMeasured('7', 'linear scale 1 to 16 GPUs'));
  return goals;
}

function bare64Of(h: HttpTargetResult): HttpRun | undefined {
  return run(h, 'bare', 64);
}

function notMeasured(id: string, goal: string): Goal {
  return { id, goal, on: '–', figure: 'not measured in this run', met: null, note: '' };
}

interface ScaleFigures {
  /** [GPUs, p50 ns of a whole-machine snapshot] */
  snapshot: Array<[number, { c: number; binding: number; threaded: number }]>;
  /** [GPUs, readiness p50 at 1 connection (ms), throughput and server CPU per request at 64] */
  ready: Array<[number, { p50: number; rps: number | null; cpuUs: number | null }]>;
}

function scaleFigures(report: BenchReport): ScaleFigures {
  const sim = report.nvml.filter((n) => n.target.kind === 'sim' && hasFigures(n.c) && hasFigures(n.binding));
  const best = sim.toSorted((a, b) => Object.keys((b.binding as BindingResult).snapshots).length - Object.keys((a.binding as BindingResult).snapshots).length)[0];
  const snapshot: ScaleFigures['snapshot'] = [];
  if (best && hasFigures(best.c) && hasFigures(best.binding)) {
    for (const key of Object.keys(best.binding.snapshots).map(Number).toSorted((a, b) => a - b)) {
      const c = best.c.snapshots[key];
      const threaded = best.binding.threaded?.snapshots[key];
      if (c) snapshot.push([key, { c: c.p50, binding: best.binding.snapshots[key]!.p50, threaded: threaded?.p50 ?? Number.NaN }]);
    }
  }
  const ready: ScaleFigures['ready'] = report.http
    .filter((h) => h.target.kind === 'sim' && run(h, 'ready', 1))
    .map((h): [number, { p50: number; rps: number | null; cpuUs: number | null }] => {
      const many = run(h, 'ready', 64);
      return [h.target.gpus, { p50: run(h, 'ready', 1)!.latencyMs.p50, rps: many?.requestsPerSecond ?? null, cpuUs: many?.serverCpuUsPerRequest ?? null }];
    })
    .toSorted((a, b) => a[0] - b[0]);
  return { snapshot, ready };
}

// ---- markdown ----------------------------------------------------------------------------------

export function renderMarkdown(report: BenchReport): string {
  const m = report.machine;
  const out: string[] = [];
  const real = report.real?.ok && !report.real.simulated ? report.real : null;
  const dryRun = report.real?.ok && report.real.simulated ? report.real : null;
  out.push(`# Benchmarks: ${m.host}, ${m.date.slice(0, 16).replace('T', ' ')} UTC`, '');
  out.push(
    table(
      ['', ''],
      [
        ['machine', `${m.cpuModel}; ${m.cores} cores for this run (server on ${m.serverCores.join(',')}, load generator on ${m.loadCores.join(',')}${m.pinned ? ', pinned with taskset' : ', not pinned'}; ${m.loadProcesses} autocannon process(es)); ${(m.memoryBytes / 2 ** 30).toFixed(0)} GiB`],
        ['OS', `${m.os}, kernel ${m.kernel}`],
        ['Node', m.node],
        [
          'GPU',
          real
            ? `${summarizeGpus(real)}; driver ${real.driverVersion}, NVML ${real.nvmlVersion}, CUDA ${real.cudaDriverVersion ?? 'n/a'} (${real.library})`
            : dryRun
              ? `none: the real-GPU suites ran on the simulator given as NVML_LIBRARY_PATH (${dryRun.library}), a dry run`
              : `none: simulated GPUs only (gpu-sim, h200x16 preset cut to N GPUs)${report.real?.error ? `; driver probe: ${report.real.error}` : ''}`,
        ],
        ...(m.nvidiaSmi ? [['nvidia-smi', m.nvidiaSmi.join('<br>')]] : []),
        ['commit', m.commit ?? 'unknown (no git)'],
        ['command', `\`${report.command}\``],
        ['duration', `${report.durationS.toFixed(0)} s`],
      ],
    ),
    '',
  );

  out.push('## Goals', '');
  out.push(table(['#', 'goal', 'measured on', 'figure', 'result'], report.goals.map((g) => [g.id, g.goal, g.on, `${g.figure}${g.note ? `<br><sub>${g.note}</sub>` : ''}`, mark(g.met)])), '');

  out.push(...nvmlSection(report));
  out.push(...httpSection(report));
  out.push(...seedSection(report));
  out.push(...startupSection(report));
  out.push(...memorySection(report));
  out.push(...hangSection(report));
  out.push(...scaleSection(report));
  if (report.notes.length > 0 || report.http.some((h) => h.serverWarnings.length > 0)) {
    out.push('## Notes', '');
    for (const note of report.notes) out.push(`- ${note}`);
    for (const h of report.http) for (const w of h.serverWarnings) out.push(`- ${h.target.label}: server logged \`${w.slice(0, 300)}\``);
    out.push('');
  }
  return out.join('\n');
}

function summarizeGpus(probe: ProbeResult): string {
  const names = (probe.gpus ?? []).map((g) => g.name);
  return [...new Set(names)].map((n) => `${names.filter((v) => v === n).length}× ${n}`).join(', ');
}

function nvmlSection(report: BenchReport): string[] {
  if (report.nvml.length === 0) return [];
  const out = ['## 1. NVML: the binding against C', ''];
  out.push(
    'The C program (`bench/nvml/nvml-bench.c`, dlopen, `-O2`) and the binding make the same calls with the same arguments. Per call: koffi functions bound with the binding\'s own prototypes. Snapshot: `NvmlLibrary.sampleDevice` (every reading of one GPU, about 22 NVML calls plus `nvmlErrorString` for each unsupported reading) against the same calls in C. Worker round trip: `ThreadedNvmlClient.sampleDevice` awaited from the main thread. Figures are per call or per snapshot; p50 and p99 over every repetition of a time-bound loop.',
    '',
  );
  for (const n of report.nvml) {
    out.push(`### ${n.target.label}`, '');
    if (!hasFigures(n.c)) out.push(`C: not run (${n.c.error})`, '');
    if (!hasFigures(n.binding)) out.push(`Binding: not run (${n.binding.error})`, '');
    const c = hasFigures(n.c) ? n.c : null;
    const b = hasFigures(n.binding) ? n.binding : null;
    if (c && b && b.calls.length > 0) {
      out.push(
        table(
          ['function', 'rc', 'C p50', 'binding p50', 'ratio', 'C p99', 'binding p99'],
          b.calls.map((call) => {
            const cc = c.calls.find((v) => v.fn === call.fn);
            const name = call.symbol && call.symbol !== call.fn && !call.fn.includes('+') ? `${call.fn} (${call.symbol})` : call.fn;
            return [name, String(call.rc), ns(cc?.p50 ?? Number.NaN), ns(call.p50), x(call.p50 / (cc?.p50 ?? Number.NaN)), ns(cc?.p99 ?? Number.NaN), ns(call.p99)];
          }),
        ),
        '',
        `Timer overhead included in each figure: C \`clock_gettime\` pair p50 ${ns(c.timer.p50)}, Node \`performance.now()\` pair p50 ${ns(b.timer.p50)}.`,
        '',
      );
    }
    const counts = Object.keys(b?.snapshots ?? c?.snapshots ?? {}).map(Number).toSorted((p, q) => p - q);
    if (counts.length > 0) {
      const rows: string[][] = [];
      for (const g of counts) {
        const base = c?.snapshots[g];
        const row = (label: string, s: Summary | undefined): void => {
          if (s) rows.push([label, String(g), ns(s.p50), ns(s.p99), ns(s.mean), base ? x(s.p50 / base.p50) : '–']);
        };
        row('C', base);
        row('binding: `NvmlLibrary.sampleDevice` (as in the workers)', b?.snapshots[g]);
        row('binding without the call statistics block', b?.snapshotsNoStats[g]);
        row('worker pool: `ThreadedNvmlClient.sampleDevice` round trip', b?.threaded?.snapshots[g]);
      }
      if (n.nvidiaSmi) rows.push([`\`nvidia-smi --query-gpu=…\` (a process per query)`, String(n.target.gpus), ns(n.nvidiaSmi.p50 * 1e6), ns(n.nvidiaSmi.p99 * 1e6), ns(n.nvidiaSmi.mean * 1e6), c?.snapshots[n.target.gpus] ? x((n.nvidiaSmi.p50 * 1e6) / c.snapshots[n.target.gpus]!.p50) : '–']);
      out.push('Whole-GPU snapshot (GPUs sampled one after another; the worker pool samples them in parallel):', '');
      out.push(table(['path', 'GPUs', 'p50', 'p99', 'mean', 'p50 vs C'], rows), '');
    }
    if (b?.threaded) out.push(`Worker round trip for one GPU: p50 ${ns(b.threaded.roundTrip.p50)}, p99 ${ns(b.threaded.roundTrip.p99)}.`, '');
    if (b?.leak) {
      const d = b.leak.rssAfterBytes - b.leak.rssBeforeBytes;
      out.push(`FFI leak check: ${int(b.leak.snapshots)} snapshots in ${b.leak.seconds} s on one thread, RSS ${mib(b.leak.rssBeforeBytes)} → ${mib(b.leak.rssAfterBytes)} (${signedMib(d)}, after a full GC).`, '');
    }
    if (c) out.push(`Symbols: ${Object.entries(c.symbols).map(([k, v]) => `${k} \`${v}\``).join(', ')}; library \`${c.library}\`.`, '');
  }
  return out;
}

function httpSection(report: BenchReport): string[] {
  if (report.http.length === 0) return [];
  const out = ['## 2. HTTP: probes, inventory and metrics against a bare route', ''];
  out.push(
    `autocannon (programmatic API) in ${report.machine.loadProcesses} process(es) on the load cores; the service (the production module graph from \`dist/\`, plus the bare route \`GET /health/bench-bare\` on the same Fastify instance, in \`bench/http/server.ts\`) on the server cores. Each run: ${report.options.warmupSeconds} s warm-up, then ${report.options.loadSeconds} s measured; latencies from every response, sub-millisecond. Closed loop: each connection sends its next request when the answer arrives. Server CPU: user + system time of the service process per response.`,
    '',
  );
  for (const h of report.http) {
    out.push(`### ${h.target.label}`, '');
    const bareRps = (c: number): number | undefined => run(h, 'bare', c)?.requestsPerSecond;
    out.push(
      table(
        ['route', 'connections', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'server CPU µs/req', 'server cores', 'req/s vs bare', 'non-2xx / errors'],
        h.runs.map((r) => {
          const bare = r.mode === 'closed' ? bareRps(r.connections) : undefined;
          const non2xx = Object.entries(r.statuses).filter(([code]) => !code.startsWith('2')).reduce((s, [, v]) => s + v, 0);
          return [
            r.mode === 'paced' ? `${r.route} (paced at ${int(r.ratePerSecond)}/s)` : r.mode === 'fresh' ? `${r.route} (a new connection per request)` : r.route,
            String(r.connections),
            int(r.requestsPerSecond),
            ms(r.latencyMs.p50),
            ms(r.latencyMs.p99),
            ms(r.latencyMs.max),
            ms(r.serverCpuUsPerRequest),
            r.serverCores === null ? '–' : r.serverCores.toFixed(2),
            bare && r.route !== 'bare' ? `${((r.requestsPerSecond / bare) * 100).toFixed(0)} %` : '',
            `${non2xx} / ${r.errors + r.timeouts}`,
          ];
        }),
      ),
      '',
    );
  }
  return out;
}

function seedSection(report: BenchReport): string[] {
  const rows: string[][] = [];
  for (const n of report.nvml) {
    const c = hasFigures(n.c) ? n.c : null;
    const b = hasFigures(n.binding) ? n.binding : null;
    if (!c?.cycle && !b?.cycle) continue;
    const gpus = n.target.gpus;
    const h = report.http.find((r) => r.target.kind === n.target.kind && r.target.gpus === gpus);
    const ready1 = run(h, 'ready', 1);
    const ready64 = run(h, 'ready', 64);
    rows.push([
      n.target.label,
      c?.cycle ? ns(c.cycle.p50) : '–',
      b?.cycle ? ns(b.cycle.p50) : '–',
      ready1 ? ns(ready1.latencyMs.p50 * 1e6) : '–',
      ready1 && c?.cycle ? x(c.cycle.p50 / 1e6 / ready1.latencyMs.p50) : '–',
      ready64?.serverCpuUsPerRequest ? ns(ready64.serverCpuUsPerRequest * 1e3) : '–',
      ready64?.serverCpuUsPerRequest && c?.cycle ? x(c.cycle.p50 / 1e3 / ready64.serverCpuUsPerRequest) : '–',
    ]);
  }
  if (rows.length === 0) return [];
  return [
    '## 3. The per-request design against readiness',
    '',
    'Per request, the seed initialised NVML, queried the GPUs and shut NVML down. Here: `nvmlInit_v2`, `nvmlDeviceGetCount_v2`, a handle and a whole snapshot per GPU, `nvmlShutdown` (NVML\'s reference count back at 0 each time), timed in C and through the binding, against one readiness request over HTTP (p50 at 1 connection) and its server CPU cost (at 64 connections).',
    '',
    table(['GPUs', 'init+query+shutdown, C', 'same, binding', 'readiness p50', 'latency ratio', 'readiness server CPU per request', 'cost ratio'], rows),
    '',
  ];
}

function startupSection(report: BenchReport): string[] {
  if (report.startup.length === 0) return [];
  const rows = report.startup.map((s) => {
    const p = (key: keyof StartupTargetResult['summary']): string => ms(s.summary[key].p50);
    return [
      s.compileCache ? `${s.target.label}, compile cache` : s.target.label,
      String(s.runs.length),
      p('userCodeMs'),
      p('nestInitMs'),
      p('gpuCheck.nvmlInitMs'),
      p('gpuCheck.enumerateMs'),
      p('gpuCheck.cudaInitMs'),
      p('gpuCheck.smokeTestMs'),
      p('gpuCheck.totalMs'),
      p('firstLogMs'),
      p('listeningMs'),
      `${p('readyMs')} (max ${ms(s.summary.readyMs.max)})`,
    ];
  });
  return [
    '## 4. Start-up',
    '',
    '`node dist/src/main.js` from spawn to the first 200 on `/health/startup` (polled every 5 ms), p50 over the starts, ms. Spawn→JS: until the first JavaScript runs (a `--import` preload). The GPU check columns are the `timings` of its summary line, which is the first log line: `cudaInit` runs beside `nvmlInit` and `enumerate` and counts from the start of the check. Nest init: everything else before that line (module loading, dependency injection, the OpenAPI document), derived as first log − spawn→JS − GPU check. Compile cache: `NODE_COMPILE_CACHE` names a V8 code cache of the module graph, filled by one unmeasured start, as the container image ships one.',
    '',
    table(['target', 'starts', 'spawn→JS', 'Nest init', 'nvmlInit', 'enumerate', 'cudaInit', 'smoke test', 'GPU check', 'first log', 'listening', 'ready'], rows),
    '',
  ];
}

function memorySection(report: BenchReport): string[] {
  if (report.memory.length === 0) return [];
  return [
    '## 5. Memory',
    '',
    'RSS of the service process (`/proc/<pid>/status` VmRSS) 2 s after start-up (idle), after the warm-up requests, and after the measured readiness requests at 16 connections (then 1 s idle); each reading is followed by a full garbage collection through the inspector and the main thread\'s JS heap left in use (the last column), so the RSS after warm-up comes after one such collection. The slope is fitted over the RSS read after each tenth of the measured requests.',
    '',
    table(
      ['target', 'idle', 'after warm-up', 'after', 'requests', 'growth from warm-up', 'growth from idle', 'slope per 10k req', 'peak (VmHWM)', 'JS heap after GC: idle / warm / after', 'req/s', 'non-200'],
      report.memory.map((m) => [
        m.target.label,
        mib(m.idleRssBytes),
        `${mib(m.warmRssBytes)} (${int(m.warmupRequests)} req)`,
        mib(m.afterRssBytes),
        int(m.requests),
        signedMib(m.afterRssBytes - m.warmRssBytes),
        signedMib(m.afterRssBytes - m.idleRssBytes),
        signedMib(m.slopeBytesPer10k),
        mib(m.peakRssBytes),
        m.heapAfterGcBytes ? `${mib(m.heapAfterGcBytes.idle)} / ${mib(m.heapAfterGcBytes.warm)} / ${mib(m.heapAfterGcBytes.after)}` : '–',
        int(m.requestsPerSecond),
        String(m.non200),
      ]),
    ),
    '',
  ];
}

function loadCells(r: LoadResult | undefined): string[] {
  return r ? [int(r.requestsPerSecond), ms(r.latencyMs.p50), ms(r.latencyMs.p99), ms(r.latencyMs.max)] : ['–', '–', '–', '–'];
}

function hangSection(report: BenchReport): string[] {
  const hang = report.hang;
  if (!hang) return [];
  const rows = hang.before.map((before) => {
    const during = hang.during.find((r) => r.connections === before.connections);
    return ['`/health/live`', String(before.connections), ...loadCells(before), ...loadCells(during)];
  });
  const statuses = Object.entries(hang.readyDuring.statuses).map(([code, count]) => `${count}× ${code}`).join(', ');
  return [
    '## 6. Hang isolation',
    '',
    `${hang.gpus} simulated GPUs; then ${hang.fault} (the scenario is rewritten while the service runs; background sampling walks into the delay within a poll period). Measured while the call is blocked in the simulator.`,
    '',
    table(['route', 'connections', 'before: req/s', 'p50 ms', 'p99 ms', 'max ms', 'blocked: req/s', 'p50 ms', 'p99 ms', 'max ms'], rows),
    '',
    `\`/health/ready\` while blocked (16 connections): ${statuses}; p50 ${ms(hang.readyDuring.latencyMs.p50)} ms, p99 ${ms(hang.readyDuring.latencyMs.p99)} ms, max ${ms(hang.readyDuring.latencyMs.max)} ms. Calls still blocked when the measurement ended: ${hang.blockedAtEnd}.`,
    '',
  ];
}

function scaleSection(report: BenchReport): string[] {
  const scale = scaleFigures(report);
  if (scale.snapshot.length === 0 && scale.ready.length === 0) return [];
  const out = ['## 7. Scale: 1 to 16 simulated GPUs', ''];
  if (scale.snapshot.length > 0) {
    const fitOf = (key: 'c' | 'binding' | 'threaded'): string => {
      const points = scale.snapshot.map(([n, s]) => [n, s[key]] as const).filter(([, v]) => Number.isFinite(v));
      const fit = fitLine(points);
      return `${ns(fit.slope)}/GPU, R² ${fit.r2.toFixed(3)}, worst step ${x(worstStepRatio(points))}`;
    };
    out.push(
      'Whole-machine snapshot, p50 (C and binding: GPUs one after another on one thread; worker pool: in parallel, as the monitor samples):',
      '',
      table(
        ['GPUs', 'C', 'binding', 'binding per GPU', 'worker pool'],
        scale.snapshot.map(([n, s]) => [String(n), ns(s.c), ns(s.binding), ns(s.binding / n), ns(s.threaded)]),
      ),
      '',
      `Linear fits: C ${fitOf('c')}; binding ${fitOf('binding')}; worker pool ${fitOf('threaded')}.`,
      '',
    );
  }
  if (scale.ready.length > 0) {
    out.push(
      'Readiness by GPU count:',
      '',
      table(
        ['GPUs', 'p50 at 1 connection (ms)', 'req/s at 64 connections', 'server CPU µs/req at 64'],
        scale.ready.map(([n, r]) => [String(n), ms(r.p50), int(r.rps), ms(r.cpuUs)]),
      ),
      '',
    );
  }
  return out;
}


// `npm run verify:gpus`: checks the built service against the GPUs `nvidia-smi -L` lists on a
// real multi-GPU host, and measures readiness there. It starts `dist/src/main.js` several times:
//   1. every GPU: the start-up summary and `/gpus` name exactly nvidia-smi's UUIDs in its order,
//      the CUDA smoke test covered each GPU (total time reported), `/health/ready` answers 200
//      with one entry per UUID, `/metrics` carries one label set per GPU; then readiness under
//      load (VERIFY_CONNECTIONS, default 1,16,64; VERIFY_LOAD_S seconds each, default 5); with
//      VERIFY_SOAK_S, a soak of that many seconds with the background sampling and the XID watch
//      running: readiness every second stays 200, no status transition, no warning, RSS noted;
//   2. CUDA_VISIBLE_DEVICES by index, by full UUID, by UUID prefix and as a reversed list: the
//      service selects exactly those GPUs;
//   3. CUDA_VISIBLE_DEVICES naming an index past the last GPU: exit 12, visible_device_not_found.
// The report (markdown and JSON) goes to stdout and, with BENCH_OUT, into that folder. Exit 1
// when a check fails. NVIDIA_SMI names another nvidia-smi (a dry run on the simulator).
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { getJson, type RunningService, startService } from '../../test/support/service.js';
import { LoadGenerator, type LoadResult } from '../http/load.js';
import { memoryOf, planCores } from '../lib/proc.js';

interface SmiGpu {
  index: number;
  name: string;
  uuid: string;
}

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

interface Summary {
  gpus: Array<{ index: number; uuid: string; smokeTestMs: number | null }>;
  timings: Record<string, number | null>;
  msg: string;
}

/** Driver set-up the service processes keep from this one (the GPU_SIM_ ones for a dry run). */
const PASSED = ['LD_LIBRARY_PATH', 'NVML_LIBRARY_PATH', 'CUDA_LIBRARY_PATH', 'CUDA_DEVICE_ORDER', 'GPU_SIM_SCENARIO'];
const driverEnv = Object.fromEntries(PASSED.filter((k) => process.env[k]).map((k) => [k, process.env[k]!]));

const checks: Check[] = [];
const quotes: string[] = [];

function check(name: string, ok: boolean, detail: string): boolean {
  checks.push({ name, ok, detail });
  process.stderr.write(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}\n`);
  return ok;
}

/** `GPU 0: NVIDIA H200 (UUID: GPU-…)` lines of `nvidia-smi -L` (MIG lines skipped). */
function smiGpus(): SmiGpu[] {
  const run = spawnSync(process.env.NVIDIA_SMI ?? 'nvidia-smi', ['-L'], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`nvidia-smi -L failed: ${run.error?.message ?? run.stderr}`);
  quotes.push(`$ nvidia-smi -L\n${run.stdout.trim()}`);
  return [...run.stdout.matchAll(/^GPU (\d+): (.+) \(UUID: (GPU-[0-9a-f-]+)\)$/gm)].map((m) => ({ index: Number(m[1]), name: m[2]!, uuid: m[3]! }));
}

function summaryOf(service: RunningService): Summary | null {
  const record = service.records().find((r) => typeof r.msg === 'string' && r.msg.startsWith('GPU check passed'));
  return (record as Summary | undefined) ?? null;
}

async function listedUuids(service: RunningService): Promise<string[]> {
  const { body } = await getJson<{ gpus: Array<{ index: number; uuid: string }> }>(service.baseUrl, '/gpus');
  return body.gpus.map((g) => g.uuid);
}

const same = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);
const short = (uuids: readonly string[]): string => uuids.map((u) => u.slice(0, 12)).join(', ');

/** Every GPU: identity, smoke test, readiness, metrics, and readiness under load. */
async function allGpus(smi: SmiGpu[], load: LoadGenerator, connections: number[], loadS: number, soakS: number): Promise<LoadResult[]> {
  const service = await startService({ env: driverEnv, timeoutMs: 60_000 });
  const results: LoadResult[] = [];
  try {
    const summary = summaryOf(service);
    const expected = smi.map((g) => g.uuid);
    if (summary) quotes.push(`service start-up line:\n${summary.msg}`);
    check('start-up summary names every GPU', summary !== null && same(summary.gpus.map((g) => g.uuid), expected), short(summary?.gpus.map((g) => g.uuid) ?? []));
    const smoked = summary?.gpus.filter((g) => g.smokeTestMs !== null) ?? [];
    check(
      'CUDA smoke test on every GPU',
      smoked.length === smi.length,
      `${smoked.length}/${smi.length} GPUs, total ${summary?.timings.smokeTestMs ?? '?'} ms (each: ${smoked.map((g) => `${g.smokeTestMs} ms`).join(', ')})`,
    );
    const listed = await listedUuids(service);
    check('/gpus equals nvidia-smi -L', same(listed, expected), short(listed));

    const ready = await getJson<{ status: string; details?: Record<string, { gpus?: Record<string, unknown> }> }>(service.baseUrl, '/health/ready');
    const readyUuids = Object.keys(ready.body.details?.gpu?.gpus ?? {});
    check('/health/ready 200 with one entry per UUID', ready.status === 200 && same(readyUuids.toSorted(), expected.toSorted()), `HTTP ${ready.status}, ${readyUuids.length} GPU entries`);

    const metrics = await (await fetch(`${service.baseUrl}/metrics`)).text();
    const tempLines = metrics.split('\n').filter((l) => l.startsWith('DCGM_FI_DEV_GPU_TEMP{'));
    const labelled = new Set(tempLines.map((l) => l.match(/UUID="([^"]+)"/)?.[1]));
    quotes.push(`/metrics DCGM_FI_DEV_GPU_TEMP:\n${tempLines.join('\n')}`);
    check('/metrics has one label set per GPU', same([...labelled].toSorted() as string[], expected.toSorted()), `${tempLines.length} DCGM_FI_DEV_GPU_TEMP series`);

    for (const c of connections) {
      const result = await load.run({ url: `${service.baseUrl}/health/ready`, connections: c, durationS: loadS, warmupS: 1 }, service.child.pid ?? null);
      results.push(result);
      const non200 = Object.entries(result.statuses).filter(([code]) => code !== '200');
      check(
        `/health/ready under load, ${c} connections`,
        non200.length === 0 && result.errors === 0,
        `${Math.round(result.requestsPerSecond)} req/s, p50 ${result.latencyMs.p50.toFixed(2)} ms, p99 ${result.latencyMs.p99.toFixed(2)} ms${non200.length ? `, non-200: ${JSON.stringify(Object.fromEntries(non200))}` : ''}`,
      );
    }
    if (soakS > 0) await soak(service, soakS, smi.length);
  } finally {
    const exit = await service.stop('SIGTERM', 30_000);
    check('SIGTERM exits 0', exit.code === 0, `code ${exit.code}${exit.signal ? `, signal ${exit.signal}` : ''}`);
  }
  return results;
}

const MIB = 2 ** 20;

async function transitionCount(service: RunningService): Promise<number> {
  return (await getJson<{ transitions: unknown[] }>(service.baseUrl, '/health/transitions')).body.transitions.length;
}

/**
 * `seconds` of the service left running as in production: a readiness probe every second,
 * `/gpus` and `/metrics` every ten. Every probe is 200, no GPU changes status, nothing is logged
 * at warn or above, and the XID watch covers every GPU (a `DCGM_FI_DEV_XID_ERRORS` series each).
 */
async function soak(service: RunningService, seconds: number, gpus: number): Promise<void> {
  const pid = service.child.pid!;
  const warnings = (): number => service.records().filter((r) => typeof r.level === 'number' && r.level >= 40).length;
  const [warningsBefore, transitionsBefore, rssBefore] = [warnings(), await transitionCount(service), memoryOf(pid).rssBytes];
  const statuses: Record<string, number> = {};
  let slowestMs = 0;
  let xidSeries = 0;
  const end = Date.now() + seconds * 1000;
  for (let n = 0; Date.now() < end; n++) {
    const ready = await getJson(service.baseUrl, '/health/ready');
    statuses[ready.status] = (statuses[ready.status] ?? 0) + 1;
    slowestMs = Math.max(slowestMs, ready.ms);
    if (n % 10 === 0) {
      await getJson(service.baseUrl, '/gpus');
      const metrics = await (await fetch(`${service.baseUrl}/metrics`)).text();
      xidSeries = metrics.split('\n').filter((l) => l.startsWith('DCGM_FI_DEV_XID_ERRORS{')).length;
    }
    await sleep(1000);
  }
  const transitions = (await transitionCount(service)) - transitionsBefore;
  const logged = warnings() - warningsBefore;
  const rssAfter = memoryOf(pid).rssBytes;
  const probes = Object.values(statuses).reduce((a, b) => a + b, 0);
  check(
    `soak of ${seconds} s`,
    probes > 0 && statuses['200'] === probes && transitions === 0 && logged === 0,
    `${probes} readiness probes ${JSON.stringify(statuses)}, slowest ${slowestMs.toFixed(1)} ms; ${transitions} transitions; ${logged} lines at warn or above; RSS ${(rssBefore / MIB).toFixed(1)} → ${(rssAfter / MIB).toFixed(1)} MiB`,
  );
  check('XID watch on every GPU', xidSeries === gpus, `${xidSeries} DCGM_FI_DEV_XID_ERRORS series for ${gpus} GPUs`);
}

/** CUDA_VISIBLE_DEVICES=`selector` selects exactly `expected` (UUIDs, in that order). */
async function subset(label: string, selector: string, expected: string[]): Promise<void> {
  const service = await startService({ env: { ...driverEnv, CUDA_VISIBLE_DEVICES: selector }, timeoutMs: 60_000 }).catch((error: Error) => error);
  if (service instanceof Error) {
    check(`CUDA_VISIBLE_DEVICES ${label}`, false, service.message.split('\n').slice(0, 3).join(' '));
    return;
  }
  try {
    const listed = await listedUuids(service);
    const summary = summaryOf(service);
    check(
      `CUDA_VISIBLE_DEVICES ${label} (${selector.length > 30 ? `${selector.slice(0, 30)}…` : selector})`,
      same(listed, expected) && summary !== null && same(summary.gpus.map((g) => g.uuid), expected),
      `/gpus ${short(listed)}; smoke test ${summary?.timings.smokeTestMs ?? '?'} ms`,
    );
  } finally {
    await service.stop('SIGTERM', 30_000);
  }
}

async function unknownIndex(count: number): Promise<void> {
  const service = await startService({ env: { ...driverEnv, CUDA_VISIBLE_DEVICES: String(count) }, waitForReady: false });
  const exit = await Promise.race([service.exited, new Promise<null>((r) => setTimeout(r, 30_000, null))]);
  if (exit === null) await service.stop('SIGKILL');
  const fatal = service.records().find((r) => r.level === 60);
  if (fatal) quotes.push(`CUDA_VISIBLE_DEVICES=${count}:\n${JSON.stringify(fatal)}`);
  check(`CUDA_VISIBLE_DEVICES=${count} (no such GPU) is refused`, exit?.code === 12 && fatal?.reason === 'visible_device_not_found', `exit ${exit?.code ?? 'none'}, reason ${String(fatal?.reason)}`);
}

async function main(): Promise<void> {
  const smi = smiGpus();
  if (smi.length === 0) throw new Error('nvidia-smi -L lists no GPU');
  const connections = (process.env.VERIFY_CONNECTIONS ?? '1,16,64').split(',').map(Number);
  const loadS = Number(process.env.VERIFY_LOAD_S ?? 5);
  const soakS = Number(process.env.VERIFY_SOAK_S ?? 0);
  const load = await LoadGenerator.start(planCores());
  let runs: LoadResult[] = [];
  try {
    runs = await allGpus(smi, load, connections, loadS, soakS);
  } finally {
    await load.close();
  }
  const last = smi.at(-1)!;
  await subset('by index', String(last.index), [last.uuid]);
  await subset('by UUID', smi[0]!.uuid, [smi[0]!.uuid]);
  await subset('by UUID prefix', last.uuid.slice(0, 12), [last.uuid]);
  if (smi.length > 1) {
    const pair = [last, smi[0]!];
    await subset('two, reversed', pair.map((g) => g.index).join(','), pair.map((g) => g.uuid));
    const half = smi.filter((g) => g.index % 2 === 1);
    await subset('odd indexes by UUID', half.map((g) => g.uuid).join(','), half.map((g) => g.uuid));
  }
  await unknownIndex(smi.length);

  const failed = checks.filter((c) => !c.ok);
  const report = [
    `# GPU verification on ${hostname()}: ${smi.length}× ${[...new Set(smi.map((g) => g.name))].join(', ')}`,
    '',
    `${checks.length - failed.length} of ${checks.length} checks passed (${new Date().toISOString()}, Node ${process.version}).`,
    '',
    '| check | result | detail |',
    '| --- | --- | --- |',
    ...checks.map((c) => `| ${c.name} | ${c.ok ? 'ok' : '**FAIL**'} | ${c.detail.replaceAll('|', '\\|')} |`),
    '',
    ...quotes.flatMap((q) => ['```', q, '```', '']),
  ].join('\n');
  process.stdout.write(`${report}\n`);
  if (process.env.BENCH_OUT) {
    mkdirSync(process.env.BENCH_OUT, { recursive: true });
    writeFileSync(join(process.env.BENCH_OUT, 'verify-gpus.md'), `${report}\n`);
    writeFileSync(join(process.env.BENCH_OUT, 'verify-gpus.json'), `${JSON.stringify({ host: hostname(), gpus: smi, checks, load: runs }, null, 2)}\n`);
  }
  process.exitCode = failed.length === 0 ? 0 : 1;
}

await main();

// `npm run bench:profile`: where the service's CPU goes for one route. Starts the bench launcher
// on simulated GPUs under `node --cpu-prof`, loads the route, stops it, and prints the
// self time by package and the hottest functions. The .cpuprofile file stays (open it in
// Chrome DevTools for the call tree).
//
//   BENCH_PROFILE_ROUTE=/health/ready (default)  BENCH_PROFILE_GPUS=1  BENCH_PROFILE_SECONDS=5
//   BENCH_PROFILE_CONNECTIONS=16  BENCH_PROFILE_DIR=/tmp/gpu-bench-profile
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LoadGenerator } from './http/load.js';
import { ensureBuilt } from './lib/build.js';
import { planCores } from './lib/proc.js';
import { simTarget, startServer } from './lib/targets.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  /** µs on CLOCK_MONOTONIC, the clock of process.hrtime. */
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** `node_modules/@nestjs/core/...` → `@nestjs/core`; our own code by its folder. */
export function packageOf(url: string): string {
  if (url === '') return '(native / V8)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return 'node (built-in)';
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return `service: ${url.slice(dist + 6).split('/').slice(0, -1).join('/')}`;
  return url.replace(/^file:\/\//, '');
}

/** Self time of the samples taken between `fromUs` and `toUs` (monotonic µs), by package and by function. */
export function summarizeProfile(profile: CpuProfile, fromUs: number, toUs: number, top = 25): string {
  const hitsById = new Map<number, number>();
  let t = profile.startTime;
  let totalSamples = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i]!;
    if (t < fromUs || t > toUs) continue;
    totalSamples++;
    hitsById.set(profile.samples[i]!, (hitsById.get(profile.samples[i]!) ?? 0) + 1);
  }
  const totalUs = toUs - fromUs;
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const node of profile.nodes) {
    const hits = hitsById.get(node.id) ?? 0;
    if (hits === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const pkg = functionName === '(idle)' || functionName === '(program)' || functionName === '(garbage collector)' ? functionName : packageOf(url);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + hits);
    const key = `${functionName || '(anonymous)'} ${url ? `${url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}` : ''}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + hits);
  }
  const idle = byPackage.get('(idle)') ?? 0;
  const busy = totalSamples - idle;
  const lines = [`${(totalUs / 1e6).toFixed(1)} s under load, ${((busy / totalSamples) * 100).toFixed(0)} % busy on the main thread (${totalSamples} samples).`, '', 'Self time by package (share of busy time):', ''];
  for (const [pkg, hits] of [...byPackage].filter(([p]) => p !== '(idle)').toSorted((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`  ${((hits / busy) * 100).toFixed(1).padStart(5)} %  ${pkg}`);
  }
  lines.push('', `Hottest functions (self, share of busy time):`, '');
  for (const [fn, hits] of [...byFunction].filter(([f]) => !f.startsWith('(idle)')).toSorted((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`  ${((hits / busy) * 100).toFixed(1).padStart(5)} %  ${fn}`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const route = process.env.BENCH_PROFILE_ROUTE ?? '/health/ready';
  const gpus = Number(process.env.BENCH_PROFILE_GPUS ?? 1);
  const seconds = Number(process.env.BENCH_PROFILE_SECONDS ?? 5);
  const connections = Number(process.env.BENCH_PROFILE_CONNECTIONS ?? 16);
  const dir = process.env.BENCH_PROFILE_DIR ?? '/tmp/gpu-bench-profile';
  mkdirSync(dir, { recursive: true });
  ensureBuilt();
  const plan = planCores();
  const before = new Set(readdirSync(dir));
  const server = await startServer(simTarget(gpus), { entry: 'launcher', plan, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
  const load = await LoadGenerator.start(plan);
  let fromUs = 0;
  let toUs = 0;
  try {
    await load.run({ url: server.baseUrl + route, connections, durationS: 1, warmupS: 0 }, null);
    fromUs = Number(process.hrtime.bigint() / 1000n);
    const result = await load.run({ url: server.baseUrl + route, connections, durationS: seconds, warmupS: 0 }, server.pid);
    toUs = Number(process.hrtime.bigint() / 1000n);
    process.stderr.write(`${route}: ${Math.round(result.requestsPerSecond)} req/s, p50 ${result.latencyMs.p50.toFixed(2)} ms, server CPU ${result.serverCpuUsPerRequest?.toFixed(0)} µs/req\n`);
  } finally {
    await load.close();
    await server.stop();
  }
  // CPU.<date>.<time>.<pid>.<thread id>.<n>.cpuprofile: thread 0 is the main thread.
  const file = readdirSync(dir).find((f) => /\.0\.\d+\.cpuprofile$/.test(f) && !before.has(f));
  if (!file) throw new Error(`no profile written in ${dir}`);
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
  process.stdout.write(`${route} on ${gpus} simulated GPU(s), ${connections} connections: ${join(dir, file)}\n${summarizeProfile(profile, fromUs, toUs)}\n`);
}

await main();

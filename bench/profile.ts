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
import { type CpuProfile, summarizeProfile } from './lib/cpuprofile.js';
import { ensureBuilt } from './lib/build.js';
import { planCores } from './lib/proc.js';
import { simTarget, startServer } from './lib/targets.js';

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
  let requests = 0;
  try {
    await load.run({ url: server.baseUrl + route, connections, durationS: 1, warmupS: 0 }, null);
    fromUs = Number(process.hrtime.bigint() / 1000n);
    const result = await load.run({ url: server.baseUrl + route, connections, durationS: seconds, warmupS: 0 }, server.pid);
    toUs = Number(process.hrtime.bigint() / 1000n);
    requests = result.requests;
    process.stderr.write(`${route}: ${Math.round(result.requestsPerSecond)} req/s, p50 ${result.latencyMs.p50.toFixed(2)} ms, server CPU ${result.serverCpuUsPerRequest?.toFixed(0)} µs/req\n`);
  } finally {
    await load.close();
    await server.stop();
  }
  // CPU.<date>.<time>.<pid>.<thread id>.<n>.cpuprofile: thread 0 is the main thread.
  const file = readdirSync(dir).find((f) => /\.0\.\d+\.cpuprofile$/.test(f) && !before.has(f));
  if (!file) throw new Error(`no profile written in ${dir}`);
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
  process.stdout.write(`${route} on ${gpus} simulated GPU(s), ${connections} connections: ${join(dir, file)}\n${summarizeProfile(profile, fromUs, toUs, requests)}\n`);
}

await main();

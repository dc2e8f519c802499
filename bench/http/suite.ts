import type { BenchContext } from '../lib/context.js';
import { startServer, type Target, type TargetInfo, targetInfo } from '../lib/targets.js';
import { type LoadGenerator, type LoadResult } from './load.js';
import { ROUTES, type RouteName } from './routes.js';

/** One load run of one route. */
export interface HttpRun extends LoadResult {
  route: RouteName;
  /** `closed`: each connection sends its next request when the answer arrives (the maximum
   * throughput); `paced`: the connections share a fixed request rate (`ratePerSecond`);
   * `fresh`: closed loop on one connection, but a new TCP connection per request, as kubelet
   * probes (keep-alive off). */
  mode: 'closed' | 'paced' | 'fresh';
  ratePerSecond: number | null;
}

export interface HttpTargetResult {
  target: TargetInfo;
  runs: HttpRun[];
  /** Lines the server wrote at warn level or above during the runs (should be none). */
  serverWarnings: string[];
}

export interface HttpPlan {
  routes: RouteName[];
  connections: number[];
  /** Also run readiness at 64 connections paced at half its closed-loop throughput, and
   * readiness with a new connection per request. */
  probeLike: boolean;
}

/**
 * Starts the bench launcher (the service plus the bare route) on `target`, pinned to the server
 * cores, and loads each route at each connection count.
 */
export async function httpSuite(ctx: BenchContext, load: LoadGenerator, target: Target, plan: HttpPlan): Promise<HttpTargetResult> {
  const { options } = ctx;
  const server = await startServer(target, { entry: 'launcher', plan: ctx.plan });
  const runs: HttpRun[] = [];
  try {
    for (const route of plan.routes) {
      for (const connections of plan.connections) {
        const result = await load.run(
          { url: server.baseUrl + ROUTES[route], connections, durationS: options.loadSeconds, warmupS: options.warmupSeconds },
          server.pid,
        );
        runs.push({ route, mode: 'closed', ratePerSecond: null, ...result });
        ctx.log(`  ${target.id} ${route.padEnd(7)} c=${String(connections).padStart(2)}: ${Math.round(result.requestsPerSecond)} req/s, p50 ${result.latencyMs.p50.toFixed(2)} ms, p99 ${result.latencyMs.p99.toFixed(2)} ms`);
      }
      if (route === 'ready' && plan.probeLike) {
        const fresh = await load.run(
          { url: server.baseUrl + ROUTES.ready, connections: 1, durationS: options.loadSeconds, warmupS: options.warmupSeconds, fresh: true },
          server.pid,
        );
        runs.push({ route, mode: 'fresh', ratePerSecond: null, ...fresh });
        ctx.log(`  ${target.id} ready   c=1, a connection per request: p50 ${fresh.latencyMs.p50.toFixed(2)} ms, p99 ${fresh.latencyMs.p99.toFixed(2)} ms`);
        const closed = runs.find((r) => r.route === 'ready' && r.connections === 64 && r.mode === 'closed');
        if (closed) {
          const rate = Math.max(64, Math.round(closed.requestsPerSecond / 2));
          const result = await load.run(
            { url: server.baseUrl + ROUTES.ready, connections: 64, durationS: options.loadSeconds, warmupS: options.warmupSeconds, overallRate: rate },
            server.pid,
          );
          runs.push({ route, mode: 'paced', ratePerSecond: rate, ...result });
          ctx.log(`  ${target.id} ready   c=64 paced at ${rate}/s: p50 ${result.latencyMs.p50.toFixed(2)} ms, p99 ${result.latencyMs.p99.toFixed(2)} ms`);
        }
      }
    }
  } finally {
    await server.stop();
  }
  const serverWarnings = server.child.output.filter((line) => /"level":(40|50|60)/.test(line)).slice(0, 20);
  return { target: targetInfo(target), runs, serverWarnings };
}

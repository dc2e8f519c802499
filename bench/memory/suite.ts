import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadGenerator } from '../http/load.js';
import type { BenchContext } from '../lib/context.js';
import { Inspector } from '../lib/inspector.js';
import { memoryOf } from '../lib/proc.js';
import { fitLine } from '../lib/stats.js';
import { startServer, type Target, type TargetInfo, targetInfo } from '../lib/targets.js';

export interface MemoryTargetResult {
  target: TargetInfo;
  /** RSS 2 s after start-up, bytes. */
  idleRssBytes: number;
  /** RSS after the warm-up requests (JIT-compiled code and V8's grown young generation in place). */
  warmRssBytes: number;
  warmupRequests: number;
  /** RSS after every tenth of the measured requests: [requests so far, bytes]. */
  curve: Array<[number, number]>;
  requests: number;
  /** RSS after the measured requests and 1 s idle, bytes. */
  afterRssBytes: number;
  peakRssBytes: number;
  requestsPerSecond: number;
  /** Answers other than 200. */
  non200: number;
  /** Least-squares slope of the curve, bytes per 10 000 requests. */
  slopeBytesPer10k: number;
  /** The main thread's JS heap in use after a full garbage collection: idle, warm, after, bytes. */
  heapAfterGcBytes: { idle: number; warm: number; after: number };
}

/**
 * RSS of the production entry (dist/src/main.js) idle, after a warm-up, and along
 * `requests` readiness requests at 16 connections, read from /proc/<pid>/status; and, through
 * the inspector (started on a loopback port, no client until then), the JS heap left after a
 * full garbage collection at the same three points, which tells retained objects from RSS.
 */
export async function memorySuite(ctx: BenchContext, load: LoadGenerator, target: Target, requests: number): Promise<MemoryTargetResult> {
  const server = await startServer(target, { entry: 'main', plan: ctx.plan, nodeArgs: ['--inspect=127.0.0.1:0'] });
  const inspector = await Inspector.connect(await server.child.waitForLine(/Debugger listening on ws:/, 5_000));
  try {
    const url = `${server.baseUrl}/health/ready`;
    await sleep(2_000);
    const idleRssBytes = memoryOf(server.pid).rssBytes;
    const idleHeap = await inspector.heapAfterGc();
    const warmupRequests = Math.min(10_000, requests);
    await load.run({ url, connections: 16, amount: warmupRequests, warmupS: 0 }, null);
    const warmRssBytes = memoryOf(server.pid).rssBytes;
    const warmHeap = await inspector.heapAfterGc();
    const curve: Array<[number, number]> = [[0, warmRssBytes]];
    const chunk = Math.ceil(requests / 10);
    let done = 0;
    let seconds = 0;
    let non200 = 0;
    while (done < requests) {
      const amount = Math.min(chunk, requests - done);
      const run = await load.run({ url, connections: 16, amount, warmupS: 0 }, null);
      done += run.requests;
      seconds += run.elapsedS;
      non200 += run.requests - (run.statuses['200'] ?? 0);
      curve.push([done, memoryOf(server.pid).rssBytes]);
      if (run.requests === 0) break;
    }
    await sleep(1_000);
    const after = memoryOf(server.pid);
    const afterHeap = await inspector.heapAfterGc();
    const fit = fitLine(curve);
    ctx.log(`  ${target.id}: RSS idle ${(idleRssBytes / 2 ** 20).toFixed(1)} MiB, warm ${(warmRssBytes / 2 ** 20).toFixed(1)} MiB, after ${done} requests ${(after.rssBytes / 2 ** 20).toFixed(1)} MiB`);
    return {
      target: targetInfo(target),
      idleRssBytes,
      warmRssBytes,
      warmupRequests,
      curve,
      requests: done,
      afterRssBytes: after.rssBytes,
      peakRssBytes: after.hwmBytes,
      requestsPerSecond: done / seconds,
      non200,
      slopeBytesPer10k: fit.slope * 10_000,
      heapAfterGcBytes: { idle: idleHeap, warm: warmHeap, after: afterHeap },
    };
  } finally {
    inspector.close();
    await server.stop();
  }
}

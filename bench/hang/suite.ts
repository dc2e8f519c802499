import { readSimCounters, updateScenario } from '@app/gpu-sim';
import { waitFor } from '../../test/support/service.js';
import type { LoadGenerator, LoadResult } from '../http/load.js';
import type { BenchContext } from '../lib/context.js';
import { simTarget, startServer } from '../lib/targets.js';

const HUNG_FUNCTION = 'nvmlDeviceGetTemperature';
const DELAY_MS = 30_000;

export interface HangResult {
  gpus: number;
  fault: string;
  /** /health/live before the fault, by connection count. */
  before: LoadResult[];
  /** /health/live while the call is blocked in the simulator. */
  during: LoadResult[];
  /** /health/ready while the call is blocked (503 with nvml_timeout is the expected answer). */
  readyDuring: LoadResult;
  /** Calls of the hung function still inside the simulator when the measurement ended. */
  blockedAtEnd: number;
}

/**
 * Liveness while one GPU's NVML call hangs: 2 simulated GPUs, then a 30 s delay on every
 * nvmlDeviceGetTemperature of GPU 1 (the background sampling walks into it within a poll period).
 */
export async function hangSuite(ctx: BenchContext, load: LoadGenerator): Promise<HangResult> {
  const { options } = ctx;
  const target = simTarget(2, { counters: true });
  const server = await startServer(target, { entry: 'main', plan: ctx.plan });
  const counters = (): number => readSimCounters(target.env.GPU_SIM_COUNTERS!)[HUNG_FUNCTION]?.inFlight ?? 0;
  const live = `${server.baseUrl}/health/live`;
  const connections = [1, 64];
  try {
    const before: LoadResult[] = [];
    for (const c of connections) before.push(await load.run({ url: live, connections: c, durationS: options.loadSeconds, warmupS: options.warmupSeconds }, server.pid));
    updateScenario(target.scenarioPath!, { ...target.scenario, faults: [{ function: HUNG_FUNCTION, gpu: 1, delayMs: DELAY_MS }] });
    await waitFor(() => counters() > 0, { timeoutMs: 10_000, what: `${HUNG_FUNCTION} to block on GPU 1` });
    ctx.log(`  hang: ${HUNG_FUNCTION} is blocked on GPU 1`);
    const during: LoadResult[] = [];
    for (const c of connections) during.push(await load.run({ url: live, connections: c, durationS: options.loadSeconds, warmupS: options.warmupSeconds }, server.pid));
    const readyDuring = await load.run({ url: `${server.baseUrl}/health/ready`, connections: 16, durationS: options.loadSeconds, warmupS: 0 }, server.pid);
    const blockedAtEnd = counters();
    for (const [i, c] of connections.entries()) {
      ctx.log(`  hang: live c=${c}: p99 ${before[i]!.latencyMs.p99.toFixed(2)} ms before, ${during[i]!.latencyMs.p99.toFixed(2)} ms while blocked`);
    }
    return { gpus: 2, fault: `${HUNG_FUNCTION} on GPU 1 sleeps ${DELAY_MS / 1000} s`, before, during, readyDuring, blockedAtEnd };
  } finally {
    // A thread is still asleep in the simulator: the service exits without waiting for it.
    await server.stop();
  }
}

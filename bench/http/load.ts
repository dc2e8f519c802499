import { join } from 'node:path';
import { ROOT } from '../lib/options.js';
import { Child, type CorePlan, cpuSecondsOf, onCores } from '../lib/proc.js';
import { type Summary, summarize } from '../lib/stats.js';
import type { LoadJob, LoadPart } from './load-child.js';

/** One load run: latency (ms) and throughput as the clients saw them, and the server's CPU. */
export interface LoadResult {
  connections: number;
  requests: number;
  elapsedS: number;
  requestsPerSecond: number;
  latencyMs: Summary;
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
  /** Server CPU time (all threads) per response, µs; null when the server's pid is not known. */
  serverCpuUsPerRequest: number | null;
  /** Server CPU use during the run, in cores (1 = one core busy all the time). */
  serverCores: number | null;
}

interface Pending {
  resolve: (part: LoadPart) => void;
  reject: (error: Error) => void;
}

/** A few autocannon processes on the load cores; a run's connections are split among them. */
export class LoadGenerator {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  private constructor(private readonly children: Child[]) {
    for (const child of children) {
      child.process.on('message', (message: { id?: number; part?: LoadPart; error?: string }) => {
        if (message.id === undefined) return;
        const waiting = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.error !== undefined) waiting?.reject(new Error(message.error));
        else waiting?.resolve(message.part!);
      });
    }
  }

  static async start(plan: CorePlan): Promise<LoadGenerator> {
    const script = join(ROOT, 'bench', 'http', 'load-child.ts');
    const children = Array.from({ length: plan.loadProcesses }, () => {
      const [command, args] = onCores(plan, plan.load, process.execPath, ['--import', 'tsx', script]);
      return new Child(command, args, {
        env: { PATH: process.env.PATH, HOME: process.env.HOME },
        cwd: ROOT,
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        serialization: 'advanced',
      });
    });
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve, reject) => {
            child.process.once('message', () => resolve());
            child.process.once('exit', (code) => reject(new Error(`load generator exited with ${code}`)));
          }),
      ),
    );
    return new LoadGenerator(children);
  }

  /**
   * `warmupS` seconds of unmeasured load, then the measured run (`durationS` seconds or
   * `amount` requests) with `connections` split over the generator processes.
   */
  async run(job: LoadJob & { warmupS: number }, serverPid: number | null): Promise<LoadResult> {
    const { warmupS, ...measured } = job;
    if (warmupS > 0) await this.fan({ ...measured, durationS: warmupS, amount: undefined });
    const cpuBefore = serverPid === null ? null : cpuSecondsOf(serverPid);
    const parts = await this.fan(measured);
    const cpu = serverPid === null || cpuBefore === null ? null : cpuSecondsOf(serverPid) - cpuBefore;
    const total = parts.reduce((n, p) => n + p.latenciesMs.length, 0);
    const latencies = new Float64Array(total);
    let offset = 0;
    const statuses: Record<string, number> = {};
    for (const part of parts) {
      latencies.set(part.latenciesMs, offset);
      offset += part.latenciesMs.length;
      for (const [code, count] of Object.entries(part.statuses)) statuses[code] = (statuses[code] ?? 0) + count;
    }
    const elapsedS = Math.max(...parts.map((p) => p.elapsedS));
    return {
      connections: job.connections,
      requests: total,
      elapsedS,
      requestsPerSecond: total / elapsedS,
      latencyMs: summarize(latencies),
      statuses,
      errors: parts.reduce((n, p) => n + p.errors, 0),
      timeouts: parts.reduce((n, p) => n + p.timeouts, 0),
      serverCpuUsPerRequest: cpu === null || total === 0 ? null : (cpu / total) * 1e6,
      serverCores: cpu === null ? null : cpu / elapsedS,
    };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.children.map((child) => {
        child.process.disconnect?.();
        return child.stop('SIGTERM', 2_000);
      }),
    );
  }

  /** Runs `job` on as many generator processes as it has connections, sharing them out. */
  private fan(job: LoadJob): Promise<LoadPart[]> {
    const k = Math.min(this.children.length, job.connections);
    return Promise.all(
      this.children.slice(0, k).map((child, i) => {
        const share = (total: number): number => Math.floor(total / k) + (i < total % k ? 1 : 0);
        const part: LoadJob = {
          url: job.url,
          connections: share(job.connections),
          ...(job.durationS !== undefined && { durationS: job.durationS }),
          ...(job.amount !== undefined && { amount: share(job.amount) }),
          ...(job.overallRate !== undefined && { overallRate: job.overallRate / k }),
          ...(job.fresh !== undefined && { fresh: job.fresh }),
        };
        const id = this.nextId++;
        return new Promise<LoadPart>((resolve, reject) => {
          this.pending.set(id, { resolve, reject });
          child.process.send({ id, job: part });
        });
      }),
    );
  }
}

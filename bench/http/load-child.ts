// A load generator process (autocannon, programmatic API), driven over IPC by LoadGenerator in
// bench/http/load.ts and pinned to the cores the server does not use. Latencies are recorded
// from autocannon's per-response event with sub-millisecond resolution (its own histogram
// keeps whole milliseconds).
import autocannon from 'autocannon';

export interface LoadJob {
  url: string;
  connections: number;
  /** Seconds of load; or `amount` requests. */
  durationS?: number;
  amount?: number;
  /** Requests per second over all connections; unset: as fast as the server answers. */
  overallRate?: number;
}

export interface LoadPart {
  /** Every response's latency, ms. */
  latenciesMs: Float64Array;
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
  /** Wall time, s. */
  elapsedS: number;
  bytes: number;
}

function fire(job: LoadJob): Promise<LoadPart> {
  return new Promise((resolve, reject) => {
    let latencies = new Float64Array(65_536);
    let n = 0;
    let bytes = 0;
    const statuses: Record<string, number> = {};
    const started = performance.now();
    const instance = autocannon(
      {
        url: job.url,
        connections: job.connections,
        ...(job.amount !== undefined ? { amount: job.amount } : { duration: job.durationS ?? 1 }),
        ...(job.overallRate !== undefined && { overallRate: job.overallRate }),
        timeout: 30,
      },
      (error, result) => {
        if (error) {
          reject(error);
          return;
        }
        resolve({
          latenciesMs: latencies.slice(0, n),
          statuses,
          errors: result.errors,
          timeouts: result.timeouts,
          elapsedS: (performance.now() - started) / 1000,
          bytes,
        });
      },
    );
    instance.on('response', (_client: unknown, statusCode: number, resBytes: number, responseTime: number) => {
      if (n === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[n++] = responseTime;
      bytes += resBytes;
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    });
  });
}

process.on('message', (message: { id: number; job: LoadJob }) => {
  void (async () => {
    try {
      const part = await fire(message.job);
      process.send!({ id: message.id, part });
    } catch (error) {
      process.send!({ id: message.id, error: (error as Error).message });
    }
  })();
});
process.on('disconnect', () => process.exit(0));
process.send!({ ready: true });

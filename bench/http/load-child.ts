// A load generator process (autocannon, programmatic API), driven over IPC by LoadGenerator in
// bench/http/load.ts and pinned to the cores the server does not use. Latencies are recorded
// from autocannon's per-response event with sub-millisecond resolution (its own histogram
// keeps whole milliseconds).
import { get } from 'node:http';
import autocannon from 'autocannon';

export interface LoadJob {
  url: string;
  connections: number;
  /** Seconds of load; or `amount` requests. */
  durationS?: number;
  amount?: number;
  /** Requests per second over all connections; unset: as fast as the server answers. */
  overallRate?: number;
  /**
   * A new TCP connection per request (`Connection: close`), as kubelet probes: requests go one
   * after another on each connection slot, timed from connect to the end of the answer.
   * (autocannon's reconnectRate drops the answer it reconnects after, so this path is its own.)
   */
  fresh?: boolean;
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

/** One request on a new connection; resolves with its status and size. */
function once(url: URL): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

async function fireFresh(job: LoadJob): Promise<LoadPart> {
  const url = new URL(job.url);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let bytes = 0;
  const started = performance.now();
  const end = started + (job.durationS ?? 1) * 1000;
  await Promise.all(
    Array.from({ length: job.connections }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          const res = await once(url);
          latencies.push(performance.now() - t0);
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          bytes += res.bytes;
        } catch {
          errors++;
        }
      }
    }),
  );
  return { latenciesMs: Float64Array.from(latencies), statuses, errors, timeouts: 0, elapsedS: (performance.now() - started) / 1000, bytes };
}

process.on('message', (message: { id: number; job: LoadJob }) => {
  void (async () => {
    try {
      const part = await (message.job.fresh ? fireFresh(message.job) : fire(message.job));
      process.send!({ id: message.id, part });
    } catch (error) {
      process.send!({ id: message.id, error: (error as Error).message });
    }
  })();
});
process.on('disconnect', () => process.exit(0));
process.send!({ ready: true });

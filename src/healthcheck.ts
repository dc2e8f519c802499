/**
 * Container health check: `node dist/src/healthcheck.js` (the image's HEALTHCHECK).
 *
 * Asks the service's own liveness probe on this host and exits 0 on HTTP 200 only; anything
 * else (another status, a refused or reset connection, no answer within the deadline) exits 1.
 * Depends on nothing but Node.js, so it works in an image without curl or wget, and imports
 * none of the service's modules, so it starts in milliseconds.
 *
 * Env: PORT and HOST as the service reads them (a wildcard HOST is asked on loopback);
 * HEALTHCHECK_PATH (default /health/live); HEALTHCHECK_TIMEOUT_MS (default 2000).
 */
import { request } from 'node:http';

const WILDCARDS = new Set(['', '0.0.0.0', '::', '[::]']);

/** What to ask, from the same environment variables the service reads. */
function healthcheckTarget(env: NodeJS.ProcessEnv): { host: string; port: number; path: string; timeoutMs: number } {
  const host = (env.HOST ?? '').trim();
  const port = Number(env.PORT?.trim() || 8000);
  const timeoutMs = Number(env.HEALTHCHECK_TIMEOUT_MS?.trim() || 2000);
  return {
    host: WILDCARDS.has(host) ? '127.0.0.1' : host.replace(/^\[(.*)\]$/, '$1'),
    port: Number.isInteger(port) && port > 0 && port < 65536 ? port : 8000,
    path: env.HEALTHCHECK_PATH?.trim() || '/health/live',
    timeoutMs: Number.isFinite(timeoutMs) && timeoutMs > 0 ? timeoutMs : 2000,
  };
}

/** Resolves with the HTTP status, or rejects on a connection error or after `timeoutMs`. */
function probe(target: ReturnType<typeof healthcheckTarget>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.host,
        port: target.port,
        path: target.path,
        method: 'GET',
        agent: false,
        signal: AbortSignal.timeout(target.timeoutMs),
        headers: { 'user-agent': 'healthcheck', connection: 'close' },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function main(): Promise<void> {
  const target = healthcheckTarget(process.env);
  const url = `http://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}${target.path}`;
  // Whatever happens below, never outlive the deadline by more than a moment.
  setTimeout(() => {
    process.stderr.write(`healthcheck: ${url}: no answer within ${target.timeoutMs} ms\n`);
    process.exit(1);
  }, target.timeoutMs + 250).unref();
  try {
    const status = await probe(target);
    if (status === 200) process.exit(0);
    process.stderr.write(`healthcheck: ${url}: HTTP ${status}\n`);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const why = e.name === 'TimeoutError' || e.name === 'AbortError' ? `no answer within ${target.timeoutMs} ms` : (e.code ?? e.message);
    process.stderr.write(`healthcheck: ${url}: ${why}\n`);
  }
  process.exit(1);
}

void main();

import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from './deploy.support.js';

// The script the image's HEALTHCHECK runs; Node.js 24 runs the TypeScript source as it is.
const SCRIPT = existsSync(join(ROOT, 'dist/src/healthcheck.js')) ? join(ROOT, 'dist/src/healthcheck.js') : join(ROOT, 'src/healthcheck.ts');

interface Outcome {
  code: number | null;
  stderr: string;
  ms: number;
}

function healthcheck(env: Record<string, string>): Promise<Outcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [SCRIPT], { env: { PATH: process.env.PATH, ...env }, timeout: 10_000 }, (_error, _stdout, stderr) =>
      resolve({ code: child.exitCode, stderr, ms: performance.now() - started }),
    );
  });
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

/** A server that answers like the service would, or never answers. */
async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ port: number; paths: string[] }> {
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url ?? '');
    handler!(req, res);
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, paths };
}

describe('the container health check script', () => {
  it('exits 0 when /health/live answers 200, asking the port the service listens on', async () => {
    const server = await serve((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}'));
    const out = await healthcheck({ PORT: String(server.port), HOST: '0.0.0.0' });
    expect(out).toMatchObject({ code: 0, stderr: '' });
    expect(server.paths).toEqual(['/health/live']);
  });

  it('exits 1 on 503, saying so', async () => {
    const server = await serve((_req, res) => res.writeHead(503).end('{"status":"error"}'));
    const out = await healthcheck({ PORT: String(server.port) });
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/HTTP 503/);
  });

  it('exits 1 on any other status (a redirect is no pass)', async () => {
    const server = await serve((_req, res) => res.writeHead(301, { location: '/' }).end());
    expect((await healthcheck({ PORT: String(server.port) })).code).toBe(1);
  });

  it('exits 1 at once when nothing listens', async () => {
    const server = await serve((_req, res) => res.end());
    const port = server.port;
    servers.splice(0).forEach((s) => s.close());
    const out = await healthcheck({ PORT: String(port) });
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/ECONNREFUSED/);
    expect(out.ms).toBeLessThan(2_000);
  });

  it('gives up after HEALTHCHECK_TIMEOUT_MS when the service hangs', async () => {
    const server = await serve(() => undefined);
    const out = await healthcheck({ PORT: String(server.port), HEALTHCHECK_TIMEOUT_MS: '300' });
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/no answer within 300 ms/);
    expect(out.ms).toBeLessThan(2_000);
  });

  it('asks a specific HOST when the service binds one', async () => {
    const server = await serve((_req, res) => res.end('ok'));
    expect((await healthcheck({ PORT: String(server.port), HOST: '127.0.0.1' })).code).toBe(0);
  });
});

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const MAIN = join(ROOT, 'dist/src/main.js');

/** A service process started by a test, with its output captured. */
export interface RunningService {
  baseUrl: string;
  port: number;
  child: ChildProcess;
  /** stdout and stderr lines so far. */
  lines(): string[];
  /** stdout lines that parse as JSON (the service's log records). */
  records(): Array<Record<string, unknown>>;
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends a signal and waits for the exit (SIGKILL after `timeoutMs`). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartOptions {
  /** Environment added to a minimal one (PATH, HOME). */
  env?: Record<string, string | undefined>;
  /** Wait until GET /health/startup answers 200 (default); false returns at once. */
  waitForReady?: boolean;
  timeoutMs?: number;
}

/** A TCP port nothing listens on now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** Starts `node dist/src/main.js` (build first) with JSON logs on a free loopback port. */
export async function startService(options: StartOptions = {}): Promise<RunningService> {
  const port = await freePort();
  const output: string[] = [];
  const child = spawn(process.execPath, [MAIN], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_FORMAT: 'json',
      SHUTDOWN_DRAIN_DELAY_MS: '0',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout!, child.stderr!]) {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      output.push(...parts);
    });
    stream.on('end', () => partial && output.push(partial));
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => setImmediate(() => resolve({ code, signal }))),
  );
  const service: RunningService = {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    child,
    lines: () => [...output],
    records: () =>
      output.flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
    exited,
    async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  if (options.waitForReady ?? true) {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}:\n${output.join('\n')}`);
        const res = await fetch(`${service.baseUrl}/health/startup`).catch(() => null);
        return res?.status === 200;
      },
      { timeoutMs: options.timeoutMs ?? 20_000, what: 'the service to start' },
    );
  }
  return service;
}

/** Polls `condition` until it is true; throws after `timeoutMs` naming `what`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  { timeoutMs = 10_000, intervalMs = 25, what = 'a condition' }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Options for a service on the GPU simulator. */
export interface SimServiceOptions extends StartOptions {
  /** The scenario (a preset and overrides). */
  scenario: import('@app/gpu-sim').SimScenario;
}

/** A service on the simulator, with its scenario file (rewrite it to change faults) and counters. */
export interface SimService extends RunningService {
  scenarioPath: string;
  countersPath: string;
  counters(): Record<string, import('@app/gpu-sim').SimCounter>;
}

/** Starts the built service on the GPU simulator with a scenario and a counters file. */
export async function startSimService(options: SimServiceOptions): Promise<SimService> {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const sim = await import('@app/gpu-sim');
  const dir = mkdtempSync(join(tmpdir(), 'gpu-service-'));
  const scenarioPath = sim.writeScenario(options.scenario, dir);
  const countersPath = join(dir, 'counters.bin');
  const service = await startService({
    ...options,
    env: { ...sim.simEnv({ scenarioPath, countersPath }), ...options.env },
  });
  return Object.assign(service, { scenarioPath, countersPath, counters: () => sim.readSimCounters(countersPath) });
}

/** GET `path` and parse JSON; returns status, headers and body. */
export async function getJson<T = Record<string, unknown>>(
  base: string,
  path: string,
): Promise<{ status: number; headers: Headers; body: T; ms: number }> {
  const started = performance.now();
  const res = await fetch(base + path);
  const text = await res.text();
  const ms = performance.now() - started;
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // text/plain answers stay text.
  }
  return { status: res.status, headers: res.headers, body: body as T, ms };
}

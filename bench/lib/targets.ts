import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SimScenario, simEnv, simPaths, writeScenario } from '@app/gpu-sim';
import { freePort, waitFor } from '../../test/support/service.js';
import { ROOT } from './options.js';
import { Child, type CorePlan, onCores } from './proc.js';

/** The GPUs a measurement runs on: simulated (a scenario) or the machine's driver. */
export interface Target {
  /** `sim-8`, `real` */
  id: string;
  kind: 'sim' | 'real';
  gpus: number;
  /** e.g. `8 simulated H200`, `1× NVIDIA H200` */
  label: string;
  /** Added to the environment of every process that loads NVML for this target. */
  env: Record<string, string>;
  /** NVML to load directly (null: the dynamic loader's libnvidia-ml.so.1). */
  nvmlLibrary: string | null;
  /** The simulator's scenario and its file (rewrite it with updateScenario to change faults). */
  scenario: SimScenario | null;
  scenarioPath: string | null;
}

/** Variables of the driver set-up a real-GPU child process keeps from this one. */
const DRIVER_VARIABLES = ['LD_LIBRARY_PATH', 'NVML_LIBRARY_PATH', 'CUDA_LIBRARY_PATH', 'CUDA_VISIBLE_DEVICES', 'CUDA_DEVICE_ORDER', 'NVIDIA_VISIBLE_DEVICES'];

/** What a report keeps of a target. */
export interface TargetInfo {
  id: string;
  label: string;
  gpus: number;
  kind: 'sim' | 'real';
}

export function targetInfo(target: Target): TargetInfo {
  return { id: target.id, label: target.label, gpus: target.gpus, kind: target.kind };
}

/** PATH and HOME only: children start from a clean environment as in the e2e tests. */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME']) if (process.env[key] !== undefined) env[key] = process.env[key]!;
  return env;
}

let scenarioDir: string | null = null;

/** `gpus` simulated H200s (the h200x16 preset cut to that count); call counters on request. */
export function simTarget(gpus: number, options: { scenario?: Omit<SimScenario, 'preset' | 'system'>; counters?: boolean } = {}): Target {
  if (scenarioDir === null) {
    const dir = mkdtempSync(join(tmpdir(), 'gpu-bench-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    scenarioDir = dir;
  }
  const dir = mkdtempSync(join(scenarioDir, `sim-${gpus}-`));
  const scenario: SimScenario = { preset: 'h200x16', system: { gpuCount: gpus }, ...options.scenario };
  const scenarioPath = writeScenario(scenario, dir);
  return {
    id: `sim-${gpus}`,
    kind: 'sim',
    gpus,
    label: `${gpus} simulated H200`,
    env: simEnv({ scenarioPath, ...(options.counters && { countersPath: join(dir, 'counters.bin') }) }),
    nvmlLibrary: simPaths().nvml,
    scenario,
    scenarioPath,
  };
}

/** The machine's own driver; `names` from the probe. `simulated`: NVML_LIBRARY_PATH is the simulator (a dry run). */
export function realTarget(names: string[], simulated: boolean): Target {
  const env: Record<string, string> = {};
  for (const key of DRIVER_VARIABLES) if (process.env[key]) env[key] = process.env[key]!;
  const distinct = [...new Set(names)];
  return {
    id: 'real',
    kind: 'real',
    gpus: names.length,
    label: `${distinct.map((name) => `${names.filter((n) => n === name).length}× ${name}`).join(', ')}${simulated ? ' (simulator, dry run)' : ''}`,
    env,
    nvmlLibrary: process.env.NVML_LIBRARY_PATH || null,
    scenario: null,
    scenarioPath: null,
  };
}

/** A service process (the production entry or the bench launcher) on a target. */
export interface RunningServer {
  child: Child;
  baseUrl: string;
  pid: number;
  /** When the process was spawned, epoch ms (sub-millisecond). */
  spawnedAtMs: number;
  stop(): Promise<void>;
}

export interface ServerOptions {
  /** `main`: dist/src/main.js; `launcher`: bench/http/server.ts (adds the bare route). */
  entry: 'main' | 'launcher';
  env?: Record<string, string>;
  /** Node options placed before the entry (e.g. `--import` a preload). */
  nodeArgs?: string[];
  /** Pin to the server cores of the plan. */
  plan?: CorePlan;
  /** Wait for 200 on /health/startup (default true). */
  waitReady?: boolean;
}

/** Starts the service on `target` with JSON logs on a free loopback port. */
export async function startServer(target: Target, options: ServerOptions): Promise<RunningServer> {
  const port = await freePort();
  const entry =
    options.entry === 'main' ? [join(ROOT, 'dist', 'src', 'main.js')] : ['--import', 'tsx', join(ROOT, 'bench', 'http', 'server.ts')];
  const args = [...(options.nodeArgs ?? []), ...entry];
  const [command, argv] = options.plan ? onCores(options.plan, options.plan.server, process.execPath, args) : [process.execPath, args];
  const spawnedAtMs = performance.timeOrigin + performance.now();
  const child = new Child(command, argv, {
    cwd: ROOT,
    env: {
      ...baseEnv(),
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_FORMAT: 'json',
      SHUTDOWN_DRAIN_DELAY_MS: '0',
      ...target.env,
      ...options.env,
    },
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const server: RunningServer = { child, baseUrl, pid: child.pid, spawnedAtMs, stop: () => child.stop('SIGTERM', 5_000) };
  if (options.waitReady ?? true) {
    try {
      await waitFor(
        async () => {
          if (!child.running) throw new Error(`service exited:\n${child.output.slice(-20).join('\n')}`);
          const res = await fetch(`${baseUrl}/health/startup`).catch(() => null);
          await res?.arrayBuffer();
          return res?.status === 200;
        },
        { timeoutMs: 90_000, intervalMs: 20, what: `the service on ${target.label} to start` },
      );
    } catch (error) {
      await child.stop('SIGKILL');
      throw error;
    }
  }
  return server;
}

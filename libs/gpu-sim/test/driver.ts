/**
 * Runs build/sim/sim-driver (libs/gpu-sim/test/sim-driver.c) against the simulator libraries and
 * parses its JSON lines. Used by the gpu-sim integration tests.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

import { simDriverPath, simEnv, type SimVariant } from '@app/gpu-sim';

export interface DriverLine {
  cmd: string;
  args: string[];
  rc: number | null;
  ms: number;
  value?: unknown;
  thread?: string;
  symbol?: string;
  stage?: string;
  count?: number;
  rcs?: number[];
  until?: { want: string; matched: boolean; attempts: number; waitedMs: number };
  error?: string;
}

export interface DriverOptions {
  scenarioPath?: string;
  countersPath?: string;
  variant?: SimVariant;
  /** Extra environment (NVIDIA_VISIBLE_DEVICES, CUDA_VISIBLE_DEVICES, ...). */
  env?: Record<string, string>;
  timeoutMs?: number;
}

const SIM_VARS = [
  'GPU_SIM_SCENARIO',
  'GPU_SIM_COUNTERS',
  'NVIDIA_VISIBLE_DEVICES',
  'CUDA_VISIBLE_DEVICES',
  'CUDA_DEVICE_ORDER',
  'NVML_LIBRARY_PATH',
  'CUDA_LIBRARY_PATH',
];

function driverEnv(opts: DriverOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of SIM_VARS) delete env[k];
  if (opts.scenarioPath) {
    Object.assign(env, simEnv({ scenarioPath: opts.scenarioPath, countersPath: opts.countersPath, variant: opts.variant }));
  } else {
    // no scenario: the libraries fall back to the h200 preset
    const { NVML_LIBRARY_PATH, CUDA_LIBRARY_PATH } = simEnv({ scenarioPath: '.', variant: opts.variant });
    Object.assign(env, { NVML_LIBRARY_PATH, CUDA_LIBRARY_PATH });
    if (opts.countersPath) env.GPU_SIM_COUNTERS = opts.countersPath;
  }
  return { ...env, ...opts.env };
}

function parseLine(text: string): DriverLine {
  try {
    return JSON.parse(text) as DriverLine;
  } catch {
    throw new Error(`sim-driver printed a line that is not JSON: ${text}`);
  }
}

/** Runs the driver to completion and returns its lines. */
export function runDriver(args: string[], opts: DriverOptions = {}): Promise<DriverLine[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(simDriverPath(), args, { env: driverEnv(opts) });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 25_000);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`sim-driver ${args.join(' ')} exited with ${code ?? signal}: ${err}\n${out}`));
        return;
      }
      try {
        resolve(out.split('\n').filter(Boolean).map(parseLine));
      } catch (e) {
        reject(e as Error);
      }
    });
  });
}

/** A driver that keeps running: read its lines as they come, answer its `sync` commands. */
export interface LiveDriver {
  /** The next line (in order), failing after timeoutMs. */
  next(timeoutMs?: number): Promise<DriverLine>;
  /** Releases a `sync` command. */
  resume(): void;
  /** Waits for the exit; returns the lines not read with next(). */
  finish(timeoutMs?: number): Promise<DriverLine[]>;
  child: ChildProcessWithoutNullStreams;
}

export function startDriver(args: string[], opts: DriverOptions = {}): LiveDriver {
  const child = spawn(simDriverPath(), args, { env: driverEnv(opts) });
  const queue: DriverLine[] = [];
  const waiters: Array<(l: DriverLine | null) => void> = [];
  let closed = false;
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: child.stdout }).on('line', (text) => {
    if (!text) return;
    const l = parseLine(text);
    const w = waiters.shift();
    if (w) w(l);
    else queue.push(l);
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      closed = true;
      for (const w of waiters.splice(0)) w(null);
      resolve(code);
    }),
  );
  return {
    child,
    next(timeoutMs = 10_000) {
      const ready = queue.shift();
      if (ready) return Promise.resolve(ready);
      if (closed) return Promise.reject(new Error(`sim-driver exited; stderr: ${stderr}`));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no line from sim-driver within ${timeoutMs} ms`)), timeoutMs);
        waiters.push((l) => {
          clearTimeout(timer);
          if (l) resolve(l);
          else reject(new Error(`sim-driver exited; stderr: ${stderr}`));
        });
      });
    },
    resume() {
      child.stdin.write('\n');
    },
    async finish(timeoutMs = 20_000) {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      if (code !== 0) throw new Error(`sim-driver exited with ${code}: ${stderr}`);
      return queue.splice(0);
    },
  };
}

/** The nth line for a command (throws when missing, for readable failures). */
export function pick(lines: DriverLine[], cmd: string, nth = 0): DriverLine {
  const found = lines.filter((l) => l.cmd === cmd)[nth];
  if (!found) throw new Error(`no line #${nth} for ${cmd} in:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`);
  return found;
}

/** Runs one command per entry (after `init` unless given) and returns the lines in order. */
export function valuesOf(lines: DriverLine[]): unknown[] {
  return lines.map((l) => l.value);
}

/** NVML UUID string → the 32 hex digits CUDA reports as bytes. */
export function uuidHex(uuid: string): string {
  return uuid.replace(/^(GPU|MIG)-/, '').replaceAll('-', '').toLowerCase();
}

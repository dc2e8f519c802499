import { type ChildProcess, spawn, spawnSync, type StdioOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** How the machine's cores are shared between the server under test and the load generator. */
export interface CorePlan {
  /** Cores this process may run on (its affinity mask). */
  all: number[];
  server: number[];
  load: number[];
  /** Whether `taskset` pins processes; without it both share every core. */
  pinned: boolean;
  /** Load generator processes (autocannon is single-threaded). */
  loadProcesses: number;
}

/** Cores in this process's affinity mask (`Cpus_allowed_list`), or 0..n-1. */
function allowedCores(): number[] {
  try {
    const line = readFileSync('/proc/self/status', 'utf8').match(/^Cpus_allowed_list:\s*(.+)$/m)?.[1];
    if (line) {
      return line.split(',').flatMap((part) => {
        const [a, b] = part.split('-').map(Number) as [number, number?];
        return b === undefined ? [a] : Array.from({ length: b - a + 1 }, (_, i) => a + i);
      });
    }
  } catch {
    // Not Linux.
  }
  return Array.from({ length: availableParallelism() }, (_, i) => i);
}

/** Half the cores (rounded up) for the server, the rest for the load generator. */
export function planCores(): CorePlan {
  const all = allowedCores();
  const taskset = spawnSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' }).status === 0;
  if (all.length < 2 || !taskset) return { all, server: all, load: all, pinned: false, loadProcesses: Math.max(1, Math.min(4, Math.floor(all.length / 2))) };
  const half = Math.ceil(all.length / 2);
  const load = all.slice(half);
  return { all, server: all.slice(0, half), load, pinned: true, loadProcesses: Math.min(4, load.length) };
}

/** `[command, args]` that run `command args` on `cores` (through taskset when pinning). */
export function onCores(plan: CorePlan, cores: number[], command: string, args: string[]): [string, string[]] {
  if (!plan.pinned) return [command, args];
  return ['taskset', ['-c', cores.join(','), command, ...args]];
}

/** A child process with its output lines captured. */
export class Child {
  readonly process: ChildProcess;
  readonly output: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters = new Set<() => void>();

  constructor(command: string, args: string[], options: { env: NodeJS.ProcessEnv; cwd: string; stdio?: StdioOptions; serialization?: 'json' | 'advanced' }) {
    this.process = spawn(command, args, {
      env: options.env,
      cwd: options.cwd,
      stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
      serialization: options.serialization ?? 'json',
    });
    for (const stream of [this.process.stdout, this.process.stderr]) {
      if (!stream) continue;
      let partial = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const parts = (partial + chunk).split('\n');
        partial = parts.pop()!;
        if (parts.length === 0) return;
        this.output.push(...parts);
        // Keep memory bounded over long runs; the first lines (start-up) stay.
        if (this.output.length > 20_000) this.output.splice(200, this.output.length - 10_000);
        for (const wake of this.waiters) wake();
      });
      stream.on('end', () => {
        if (partial) this.output.push(partial);
      });
    }
    this.exited = new Promise((resolve) => this.process.once('exit', (code, signal) => setImmediate(() => resolve({ code, signal }))));
  }

  get pid(): number {
    return this.process.pid!;
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Resolves with the first line matching `pattern` (earlier lines included), or throws at the deadline or exit. */
  async waitForLine(pattern: RegExp, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.output.find((line) => pattern.test(line));
      if (found !== undefined) return found;
      if (!this.running) throw new Error(`process exited before printing ${pattern}:\n${this.output.slice(-20).join('\n')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no line matching ${pattern} after ${timeoutMs} ms:\n${this.output.slice(-20).join('\n')}`);
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          this.waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(left, 200));
        this.waiters.add(wake);
      });
    }
  }

  /** Sends `signal`, then SIGKILL after `graceMs`; resolves once it has exited. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<void> {
    if (this.running) this.process.kill(signal);
    const timer = setTimeout(() => this.running && this.process.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Memory figures of a process from /proc/<pid>/status, bytes. */
export function memoryOf(pid: number): { rssBytes: number; hwmBytes: number; threads: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string): number => Number(text.match(new RegExp(`^${key}:\\s*(\\d+)`, 'm'))?.[1] ?? Number.NaN) * 1024;
  return { rssBytes: kib('VmRSS'), hwmBytes: kib('VmHWM'), threads: Number(text.match(/^Threads:\s*(\d+)/m)?.[1] ?? Number.NaN) };
}

let ticksPerSecond: number | null = null;

/** CPU time (user + system, all threads) a process has used so far, seconds. */
export function cpuSecondsOf(pid: number): number {
  ticksPerSecond ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3; utime is 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** Runs a command to its end; stdout lines that parse as JSON, with the exit status. */
export function runJsonLines(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): { status: number | null; records: Array<Record<string, unknown>>; stderr: string } {
  const result = spawnSync(command, args, { env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  const records = result.stdout.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
  return { status: result.status, records, stderr: result.stderr };
}

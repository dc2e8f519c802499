import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, hostname, release, totalmem } from 'node:os';
import { ROOT } from './options.js';
import type { CorePlan } from './proc.js';

export interface MachineInfo {
  host: string;
  date: string;
  os: string;
  kernel: string;
  cpuModel: string;
  /** Cores this run may use (its affinity mask). */
  cores: number;
  serverCores: number[];
  loadCores: number[];
  pinned: boolean;
  loadProcesses: number;
  memoryBytes: number;
  node: string;
  /** Short commit of the measured tree (null without git), `+dirty` when it had changes. */
  commit: string | null;
  /** `nvidia-smi --query-gpu=name,driver_version,...` lines, when nvidia-smi exists. */
  nvidiaSmi: string[] | null;
}

function osName(): string {
  try {
    return readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]*)"?/m)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function commit(): string | null {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  if (head.status !== 0) return null;
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim() !== '';
  return `${head.stdout.trim()}${dirty ? '+dirty' : ''}`;
}

function nvidiaSmi(): string[] | null {
  const result = spawnSync('nvidia-smi', ['--query-gpu=index,name,driver_version,memory.total,persistence_mode', '--format=csv,noheader'], { encoding: 'utf8' });
  if (result.error || result.status !== 0) return null;
  return result.stdout.trim().split('\n');
}

export function machineInfo(plan: CorePlan): MachineInfo {
  return {
    host: hostname(),
    date: new Date().toISOString(),
    os: osName(),
    kernel: release(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: plan.all.length,
    serverCores: plan.server,
    loadCores: plan.load,
    pinned: plan.pinned,
    loadProcesses: plan.loadProcesses,
    memoryBytes: totalmem(),
    node: process.version,
    commit: commit(),
    nvidiaSmi: nvidiaSmi(),
  };
}

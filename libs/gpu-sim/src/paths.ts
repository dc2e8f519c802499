import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { SimPresetName } from './scenario.js';

/** libs/gpu-sim */
const PACKAGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REPO_ROOT = resolve(PACKAGE_DIR, '..', '..');

export type SimVariant = 'default' | 'legacy';

export interface SimLibraryPaths {
  /** libnvidia-ml.so.1 */
  nvml: string;
  /** libcuda.so.1 */
  cuda: string;
}

/** build/sim at the repository root, or $GPU_SIM_BUILD_DIR. */
export function simBuildDir(): string {
  return process.env.GPU_SIM_BUILD_DIR ? resolve(process.env.GPU_SIM_BUILD_DIR) : join(REPO_ROOT, 'build', 'sim');
}

/** Absolute paths of the built libraries; `legacy` lacks the newer NVML/CUDA symbols. */
export function simPaths(variant: SimVariant = 'default'): SimLibraryPaths {
  const dir = variant === 'legacy' ? join(simBuildDir(), 'legacy') : simBuildDir();
  return { nvml: join(dir, 'libnvidia-ml.so.1'), cuda: join(dir, 'libcuda.so.1') };
}

/** The C test driver built beside the libraries (see libs/gpu-sim/test/sim-driver.c). */
export function simDriverPath(): string {
  return join(simBuildDir(), 'sim-driver');
}

/** Path of a preset file (the same text is compiled into the libraries). */
export function presetPath(name: SimPresetName): string {
  return join(PACKAGE_DIR, 'presets', `${name}.ini`);
}

function files(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).map((f) => join(dir, f)) : [];
}

function mtime(path: string): number {
  return existsSync(path) ? statSync(path).mtimeMs : Number.NaN;
}

/** Whether an output is missing or older than the newest input. */
function stale(outputs: string[], inputs: string[]): boolean {
  const newest = Math.max(...inputs.map(mtime).filter((t) => !Number.isNaN(t)));
  return outputs.some((o) => {
    const t = mtime(o);
    return Number.isNaN(t) || t < newest;
  });
}

/**
 * Runs libs/gpu-sim/build.sh when an output is missing or older than a source (for a test
 * project's global setup). The build is incremental and safe to run from parallel workers.
 */
export function ensureSimBuilt(): SimLibraryPaths {
  const native = files(join(PACKAGE_DIR, 'native'));
  const script = join(PACKAGE_DIR, 'build.sh');
  const libInputs = [...native, ...files(join(PACKAGE_DIR, 'presets')), script];
  const driverInputs = [...native.filter((f) => f.endsWith('.h')), join(PACKAGE_DIR, 'test', 'sim-driver.c'), script];
  const libs = [...Object.values(simPaths()), ...Object.values(simPaths('legacy'))];
  if (stale(libs, libInputs) || stale([simDriverPath()], driverInputs)) {
    try {
      execFileSync('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`gpu-sim build failed: ${e.stderr ?? e.message}`, { cause: err });
    }
  }
  return simPaths();
}

export interface SimEnvOptions {
  scenarioPath: string;
  /** File for the shared call counters (created on first use). */
  countersPath?: string;
  variant?: SimVariant;
}

/** Environment for a child process that should load the simulator. */
export function simEnv(opts: SimEnvOptions): Record<string, string> {
  const paths = simPaths(opts.variant ?? 'default');
  const env: Record<string, string> = {
    NVML_LIBRARY_PATH: paths.nvml,
    CUDA_LIBRARY_PATH: paths.cuda,
    GPU_SIM_SCENARIO: resolve(opts.scenarioPath),
  };
  if (opts.countersPath) env.GPU_SIM_COUNTERS = resolve(opts.countersPath);
  return env;
}

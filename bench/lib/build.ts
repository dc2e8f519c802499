import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ensureSimBuilt, simPaths } from '@app/gpu-sim';
import { ROOT } from './options.js';

/** Sources that end up in dist/ (what `nest build` compiles). */
const BUILT_DIRS = ['src', 'libs/nvml/src', 'libs/cuda/src', 'libs/worker-pool/src', 'libs/ffi/src'];

/** The newest modification time of the files under `dir` that `wanted` accepts, ms. */
function newest(dir: string, wanted: (name: string) => boolean): number {
  let time = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) time = Math.max(time, newest(path, wanted));
    else if (wanted(entry.name)) time = Math.max(time, statSync(path).mtimeMs);
  }
  return time;
}

const isSource = (name: string): boolean => name.endsWith('.ts') && !/\.(spec|int-spec|e2e-spec)\.ts$/.test(name);

/**
 * Runs `nest build` when dist/ is missing or older than a source, and builds the GPU simulator
 * when it is out of date. Where the tools are missing (a bundle with production packages only)
 * the outputs that are there are used, and the returned notes say so.
 */
export function ensureBuilt(): string[] {
  const done: string[] = [];
  const main = join(ROOT, 'dist', 'src', 'main.js');
  const built = existsSync(main) ? newest(join(ROOT, 'dist'), (name) => name.endsWith('.js')) : 0;
  const stale = built === 0 || BUILT_DIRS.some((dir) => existsSync(join(ROOT, dir)) && newest(join(ROOT, dir), isSource) > built);
  const nest = join(ROOT, 'node_modules', '.bin', 'nest');
  if (stale && existsSync(nest)) {
    // Its output goes to stderr: stdout carries the report.
    const result = spawnSync(nest, ['build'], { cwd: ROOT, stdio: ['ignore', 2, 2] });
    if (result.status !== 0) throw new Error('nest build failed');
    done.push('nest build');
  } else if (stale) {
    if (built === 0) throw new Error('dist/ is missing and the Nest CLI is not installed: run npm run bench:build first');
    done.push('dist/ looks older than src/ but the Nest CLI is not installed: measuring the dist/ that is here');
  }
  try {
    ensureSimBuilt();
  } catch (error) {
    if (!existsSync(simPaths().nvml)) throw error;
    done.push(`the simulator could not be rebuilt (${(error as Error).message.split('\n')[0]}): measuring build/sim as it is`);
  }
  return done;
}

import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './options.js';

/**
 * Imports a module of the built service (`dist/`), typed as its TypeScript source: the
 * benchmarks measure the JavaScript that production runs. Pass the path below dist/, e.g.
 * `importDist<typeof import('../../src/app.module.js')>('src/app.module.js')`.
 */
export function importDist<T>(path: string): Promise<T> {
  return import(pathToFileURL(join(ROOT, 'dist', path)).href) as Promise<T>;
}

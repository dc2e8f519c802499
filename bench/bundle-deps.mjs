// Prints the node_modules folders `npm run bench` needs on a machine without network, one per
// line, relative to the repository root: every production package of package-lock.json, plus
// the benchmark's own runtime (tsx, autocannon) with everything they depend on. Folders inside
// another printed folder are left out (they travel with it). Used by bench/bundle.sh.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// BUNDLE_EXTRA adds packages, e.g. `vitest vite-tsconfig-paths` to run `npm run test:gpu` there too.
const BENCH_RUNTIME = ['tsx', 'autocannon', ...(process.env.BUNDLE_EXTRA ?? '').split(/\s+/).filter(Boolean)];
const { packages } = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));

/** The lockfile key `name` resolves to from the package at `from`, as Node's lookup walks up. */
function resolve(from, name) {
  let dir = from;
  for (;;) {
    const key = `${dir ? `${dir}/` : ''}node_modules/${name}`;
    if (packages[key]) return key;
    if (!dir) return null;
    const up = dir.lastIndexOf('/node_modules/');
    dir = up < 0 ? '' : dir.slice(0, up);
  }
}

// devOptional: a development package that is also an optional peer of a production one (typescript).
const wanted = new Set(Object.keys(packages).filter((key) => key !== '' && !packages[key].dev && !packages[key].devOptional));
const queue = BENCH_RUNTIME.map((name) => resolve('', name));
while (queue.length > 0) {
  const key = queue.pop();
  if (!key || wanted.has(key) && !BENCH_RUNTIME.some((name) => key === `node_modules/${name}`)) continue;
  wanted.add(key);
  const meta = packages[key];
  const peers = Object.keys(meta.peerDependencies ?? {}).filter((name) => !meta.peerDependenciesMeta?.[name]?.optional);
  for (const name of [...Object.keys(meta.dependencies ?? {}), ...Object.keys(meta.optionalDependencies ?? {}), ...peers]) {
    const dep = resolve(key, name);
    if (dep && !wanted.has(dep)) queue.push(dep);
  }
}

const present = [...wanted].filter((key) => existsSync(join(root, key))).toSorted();
const covered = (key) => {
  for (let i = key.lastIndexOf('/node_modules/'); i > 0; i = key.lastIndexOf('/node_modules/', i - 1)) {
    if (present.includes(key.slice(0, i))) return true;
  }
  return false;
};
for (const key of present) if (!covered(key)) process.stdout.write(`${key}\n`);

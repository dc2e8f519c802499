import { validate, ValidationSeverity } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import { read } from './deploy.support.js';

const DOCKERFILE = read('Dockerfile');

interface Instruction {
  line: number;
  keyword: string;
  args: string;
}

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let current: Instruction | null = null;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (current === null) {
      if (/^\s*(#|$)/.test(line)) return;
      const m = /^\s*(\w+)\s*(.*)$/.exec(line)!;
      current = { line: i + 1, keyword: m[1]!.toUpperCase(), args: '' };
      const rest = m[2]!;
      if (rest.endsWith('\\')) current.args = rest.slice(0, -1);
      else {
        current.args = rest;
        out.push(current);
        current = null;
      }
      return;
    }
    if (/^\s*#/.test(line)) return;
    if (line.endsWith('\\')) current.args += ` ${line.slice(0, -1).trim()}`;
    else {
      current.args += ` ${line.trim()}`;
      current.args = current.args.replace(/\s+/g, ' ').trim();
      out.push(current);
      current = null;
    }
  });
  return out.map((ins) => ({ ...ins, args: ins.args.replace(/\s+/g, ' ').trim() }));
}

/** Instructions grouped by build stage name. */
function stages(all: Instruction[]): Map<string, Instruction[]> {
  const map = new Map<string, Instruction[]>();
  let name = '';
  for (const ins of all) {
    if (ins.keyword === 'FROM') {
      name = /\bAS\s+(\S+)/i.exec(ins.args)?.[1] ?? `#${map.size}`;
      map.set(name, []);
    }
    map.get(name)?.push(ins);
  }
  return map;
}

const ALL = instructions(DOCKERFILE);
const STAGES = stages(ALL);
const GLOBAL_ARGS = Object.fromEntries(
  ALL.slice(0, ALL.findIndex((i) => i.keyword === 'FROM'))
    .filter((i) => i.keyword === 'ARG')
    .map((i) => i.args.split('=') as [string, string]),
);

const stage = (name: string): Instruction[] => {
  const found = STAGES.get(name);
  if (!found) throw new Error(`Dockerfile has no stage "${name}" (stages: ${[...STAGES.keys()].join(', ')})`);
  return found;
};
const only = (list: Instruction[], keyword: string): Instruction[] => list.filter((i) => i.keyword === keyword);
const envOf = (list: Instruction[]): Record<string, string> =>
  Object.fromEntries(
    only(list, 'ENV').flatMap((i) => [...i.args.matchAll(/(\w+)=("[^"]*"|\S*)/g)].map((m) => [m[1]!, m[2]!.replace(/^"|"$/g, '')])),
  );
const jsonForm = (args: string): string[] => JSON.parse(args) as string[];

describe('Dockerfile', () => {
  it('passes dockerfile-utils lint with every check an error', () => {
    const all = ValidationSeverity.ERROR;
    const problems = validate(DOCKERFILE, {
      deprecatedMaintainer: all,
      directiveCasing: all,
      emptyContinuationLine: all,
      instructionCasing: all,
      instructionCmdMultiple: all,
      instructionEntrypointMultiple: all,
      instructionHealthcheckMultiple: all,
      instructionJSONInSingleQuotes: all,
      instructionWorkdirRelative: all,
    });
    expect(problems.map((p) => `Dockerfile:${p.range.start.line + 1}: ${p.message}`)).toEqual([]);
  });

  it('the lint does catch a mistake (the check is live)', () => {
    const broken = DOCKERFILE.replace('HEALTHCHECK --interval=', 'HEALTHCHECK --intervall=');
    expect(validate(broken).map((p) => p.message)).toContain('Unknown flag: intervall');
  });

  it('builds in one stage and runs on node:24-bookworm-slim, the default (last) target', () => {
    expect(GLOBAL_ARGS.NODE_IMAGE).toBe('node:24-bookworm-slim');
    expect(stage('build')[0]!.args).toBe('${NODE_IMAGE} AS build');
    expect(stage('runtime')[0]!.args).toBe('${NODE_IMAGE} AS runtime');
    expect([...STAGES.keys()].at(-1)).toBe('runtime');
    const build = stage('build').map((i) => i.args).join('\n');
    expect(build).toMatch(/npm ci/);
    expect(build).toMatch(/npm run build/);
    expect(build).toMatch(/npm prune --omit=dev/);
  });

  it('copies only the build output and production dependencies (and the compile cache) into the runtime stage', () => {
    expect(only(stage('app'), 'COPY').map((i) => i.args)).toEqual([
      '--from=build /src/package.json ./package.json',
      '--from=build /src/node_modules ./node_modules',
      '--from=build /src/dist ./dist',
    ]);
    expect(only(stage('runtime'), 'COPY').map((i) => i.args)).toEqual(['--from=app --chown=0:0 /app /app']);
  });

  for (const name of ['runtime', 'cuda-devel']) {
    describe(`target ${name}`, () => {
      it('runs as a numeric non-root user', () => {
        const users = only(stage(name), 'USER');
        expect(users).toHaveLength(1);
        const [uid, gid] = users[0]!.args.split(':').map(Number);
        expect(uid).toBeGreaterThan(0);
        expect(gid).toBeGreaterThan(0);
      });

      it('starts Node.js under tini in exec form (SIGTERM reaches Node, children are reaped)', () => {
        expect(jsonForm(only(stage(name), 'ENTRYPOINT')[0]!.args)).toEqual(['/usr/bin/tini', '--']);
        expect(jsonForm(only(stage(name), 'CMD')[0]!.args)).toEqual(['node', 'dist/src/main.js']);
        expect(only(stage(name), 'RUN').map((i) => i.args).join('\n')).toMatch(/apt-get install -y --no-install-recommends tini/);
        expect(only(stage(name), 'STOPSIGNAL')[0]?.args).toBe('SIGTERM');
      });

      it('sets production mode and the driver capabilities, and exposes no GPU by itself', () => {
        const env = envOf(stage(name));
        expect(env.NODE_ENV).toBe('production');
        expect(env.NVIDIA_DRIVER_CAPABILITIES).toBe('compute,utility');
        expect(env.NVIDIA_VISIBLE_DEVICES ?? '').toBe('');
        expect(ALL.map((i) => i.args).join('\n')).not.toMatch(/NVIDIA_VISIBLE_DEVICES=all/);
      });

      it('checks health with Node itself against /health/live, with a timeout and a start period', () => {
        const checks = only(stage(name), 'HEALTHCHECK');
        expect(checks).toHaveLength(1);
        const m = /^(.*?)\s*CMD\s+(\[.*\])$/.exec(checks[0]!.args)!;
        expect(jsonForm(m[2]!)).toEqual(['node', 'dist/src/healthcheck.js']);
        expect(m[1]).toMatch(/--timeout=\d+s/);
        expect(m[1]).toMatch(/--start-period=\d+s/);
        expect(ALL.map((i) => i.args).join('\n')).not.toMatch(/\bcurl\b|\bwget\b/);
      });

      it('ships the V8 compile cache made as its own user (Node keys it by uid), owned by root', () => {
        const [uid] = only(stage(name), 'USER')[0]!.args.split(':');
        expect(envOf(stage(name)).NODE_COMPILE_CACHE).toBe('/app/.node-compile-cache');
        expect(only(stage(name), 'COPY').map((i) => i.args)).toContain('--from=app --chown=0:0 /app /app');
        const make = only(stage('app'), 'RUN').map((i) => i.args).join('\n');
        expect(make).toContain(`setpriv --reuid=${uid} --regid=${uid}`);
      });

      it('carries OCI labels', () => {
        const labels = only(stage(name), 'LABEL').map((i) => i.args).join(' ');
        for (const key of ['title', 'description', 'version', 'revision', 'created', 'source', 'base.name']) {
          expect(labels).toContain(`org.opencontainers.image.${key}=`);
        }
      });
    });
  }

  it('makes the compile cache with the runtime Node, from the paths the targets run', () => {
    expect(stage('app')[0]!.args).toBe('${NODE_IMAGE} AS app');
    expect(only(stage('app'), 'WORKDIR')[0]?.args).toBe('/app');
    const make = only(stage('app'), 'RUN').map((i) => i.args).join('\n');
    expect(make).toContain('NODE_COMPILE_CACHE=/app/.node-compile-cache');
    expect(make).toContain("import('/app/dist/src/bootstrap.js')");
    // Node writes its cache files 0600; the service user must be able to read them.
    expect(make).toContain('chmod -R a+rX,go-w /app/.node-compile-cache');
  });

  it('offers the CUDA devel base as a build target with Node.js copied in', () => {
    expect(GLOBAL_ARGS.CUDA_IMAGE).toBe('nvidia/cuda:11.8.0-cudnn8-devel-ubuntu22.04');
    expect(stage('cuda-devel')[0]!.args).toBe('${CUDA_IMAGE} AS cuda-devel');
    const copies = only(stage('cuda-devel'), 'COPY').map((i) => i.args);
    expect(copies).toContain('--from=build /usr/local/bin/node /usr/local/bin/node');
    expect(copies).toContain('--from=app --chown=0:0 /app /app');
  });

  it('keeps the build context to what the build stage copies', () => {
    const ignore = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignore[0]).toBe('*');
    const copied = only(stage('build'), 'COPY')
      .flatMap((i) => i.args.split(' ').slice(0, -1))
      .filter((p) => !p.startsWith('--'));
    for (const path of copied) expect(ignore, `${path} must be let into the build context`).toContain(`!${path}${['libs', 'src'].includes(path) ? '/' : ''}`);
  });
});

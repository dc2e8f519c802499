import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { Container, Service } from 'kubernetes-types/core/v1.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseYamlStream, read, ROOT, run } from './deploy.support.js';
import type { ServiceMonitor } from './servicemonitor.types.js';

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** The TypeScript type each rendered kind is checked against. */
const TYPES: Record<string, { module: string; type: string }> = {
  'v1/Namespace': { module: 'kubernetes-types/core/v1', type: 'Namespace' },
  'v1/ServiceAccount': { module: 'kubernetes-types/core/v1', type: 'ServiceAccount' },
  'v1/Service': { module: 'kubernetes-types/core/v1', type: 'Service' },
  'apps/v1/Deployment': { module: 'kubernetes-types/apps/v1', type: 'Deployment' },
  'monitoring.coreos.com/v1/ServiceMonitor': { module: 'SERVICEMONITOR', type: 'ServiceMonitor' },
};

const KUSTOMIZATIONS = ['deploy/kubernetes/base', 'deploy/kubernetes/overlays/example'];
const SHUTDOWN_DRAIN_DELAY_MS = 5_000;

let kubectl = '';
let workDir = '';
const rendered = new Map<string, Manifest[]>();

/**
 * Type-checks manifests as object literals of their kubernetes-types type with tsc: excess
 * property checks reject misspelled or misplaced fields, and wrong value types fail too.
 * Returns tsc's complaints, each with the resource it is in.
 */
function typeCheck(manifests: Manifest[], name: string): string[] {
  const dir = join(workDir, name);
  mkdirSync(dir, { recursive: true });
  const imports = new Map<string, Set<string>>();
  const lines: string[] = [];
  const owners: string[] = [];
  manifests.forEach((m, i) => {
    const key = `${m.apiVersion}/${m.kind}`;
    const target = TYPES[key];
    if (!target) throw new Error(`${name}: no type to check ${key} (${m.metadata.name}) against; add it to TYPES`);
    const module =
      target.module === 'SERVICEMONITOR' ? `./${relative(dir, join(ROOT, 'test/deploy/servicemonitor.types.ts'))}` : target.module;
    (imports.get(module) ?? imports.set(module, new Set()).get(module)!).add(target.type);
    const start = lines.length;
    lines.push(`// ${m.kind}/${m.metadata.name}`, ...`export const resource${i}: ${target.type} = ${JSON.stringify(m, null, 2)};`.split('\n'), '');
    for (let l = start; l < lines.length; l++) owners[l] = `${m.kind}/${m.metadata.name}`;
  });
  const header = [...imports].map(([module, types]) => `import type { ${[...types].join(', ')} } from '${module}';`);
  writeFileSync(join(dir, 'manifests.ts'), [...header, '', ...lines].join('\n'));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        target: 'es2022',
        module: 'preserve',
        moduleResolution: 'bundler',
        allowImportingTsExtensions: true,
        types: [],
        skipLibCheck: true,
      },
      files: ['manifests.ts'],
    }),
  );
  try {
    run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json'), '--pretty', 'false']);
    return [];
  } catch (error) {
    return (error as Error).message
      .split('\n')
      .filter((l) => l.includes('manifests.ts('))
      .map((l) => {
        const line = Number(/manifests\.ts\((\d+),/.exec(l)?.[1] ?? 0) - header.length - 2;
        return `${owners[line] ?? '?'}: ${l.replace(/^.*?error /, '')}`;
      });
  }
}

beforeAll(() => {
  kubectl = run(join(ROOT, 'scripts/ensure-kubectl.sh'), []).trim();
  mkdirSync(join(ROOT, 'build'), { recursive: true });
  workDir = mkdtempSync(join(ROOT, 'build/deploy-typecheck-'));
  for (const dir of KUSTOMIZATIONS) {
    rendered.set(dir, parseYamlStream<Manifest>(run(kubectl, ['kustomize', dir]), `kubectl kustomize ${dir}`));
  }
}, 120_000);

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

const find = <T>(dir: string, kind: string): T => {
  const found = rendered.get(dir)!.filter((m) => m.kind === kind);
  if (found.length !== 1) throw new Error(`${dir}: expected one ${kind}, rendered ${found.length}`);
  return found[0] as T;
};

describe.each(KUSTOMIZATIONS)('kubectl kustomize %s', (dir) => {
  it('renders the resources it should', () => {
    const kinds = rendered.get(dir)!.map((m) => m.kind).toSorted();
    const expected = ['Deployment', 'Service', 'ServiceAccount'];
    if (dir.endsWith('example')) expected.push('Namespace', 'ServiceMonitor');
    expect(kinds).toEqual(expected.toSorted());
  });

  it('passes the schema check (kubernetes-types, tsc)', () => {
    const problems = typeCheck(rendered.get(dir)!, dir.replaceAll('/', '_'));
    expect(problems, problems.join('\n')).toEqual([]);
  }, 60_000);
});

describe('the schema check', () => {
  it('catches a misspelled field, a misplaced field and a wrong value type', () => {
    const base = find<Deployment & Manifest>('deploy/kubernetes/base', 'Deployment');
    const variant = (name: string, change: (d: Deployment, c: Record<string, unknown>) => void): Manifest => {
      const d = structuredClone(base);
      d.metadata.name = name;
      change(d, d.spec!.template.spec!.containers[0]! as unknown as Record<string, unknown>);
      return d;
    };
    const problems = typeCheck(
      [
        variant('misspelled', (_, c) => {
          c.readinessProbes = c.readinessProbe;
        }),
        variant('misplaced', (d) => {
          (d.spec as unknown as Record<string, unknown>).terminationGracePeriodSeconds = 30;
        }),
        variant('wrong-type', (_, c) => {
          (c.resources as { limits: Record<string, unknown> }).limits['nvidia.com/gpu'] = 1;
        }),
      ],
      'negative',
    ).join('\n');
    expect(problems).toMatch(/^Deployment\/misspelled: .*'"?readinessProbes"?' does not exist in type 'Container'/m);
    expect(problems).toMatch(/^Deployment\/misplaced: .*'"?terminationGracePeriodSeconds"?' does not exist in type 'DeploymentSpec'/m);
    expect(problems).toMatch(/^Deployment\/wrong-type: .*'number' is not assignable to type 'string'/m);
  }, 60_000);
});

const deployment = (): Deployment => find<Deployment>('deploy/kubernetes/base', 'Deployment');
const container = (): Container => deployment().spec!.template.spec!.containers[0]!;
const env = (name: string): string | undefined => container().env?.find((e) => e.name === name)?.value;

describe('the Deployment', () => {

  it('requests one NVIDIA GPU', () => {
    expect(container().resources?.limits?.['nvidia.com/gpu']).toBe('1');
    expect(container().resources?.requests?.['nvidia.com/gpu']).toBe('1');
  });

  it('probes start-up, liveness and readiness on their own routes, with timeouts that fit them', () => {
    const { startupProbe, livenessProbe, readinessProbe } = container();
    expect(startupProbe?.httpGet?.path).toBe('/health/startup');
    expect(livenessProbe?.httpGet?.path).toBe('/health/live');
    expect(readinessProbe?.httpGet?.path).toBe('/health/ready');
    // Readiness answers within about 1 s even with a hung GPU (NVML deadline 500 ms).
    expect(readinessProbe!.timeoutSeconds!).toBeGreaterThanOrEqual(2);
    expect(Number(env('NVML_CALL_TIMEOUT_MS'))).toBeLessThan(readinessProbe!.timeoutSeconds! * 1000);
    expect(livenessProbe!.timeoutSeconds!).toBeGreaterThanOrEqual(1);
    // Start-up (NVML, then a CUDA context per GPU at about 0.4 s each) gets at least a minute.
    expect(startupProbe!.periodSeconds! * startupProbe!.failureThreshold!).toBeGreaterThanOrEqual(60);
  });

  it('waits longer than the drain and the shutdown deadline before killing', () => {
    const grace = deployment().spec!.template.spec!.terminationGracePeriodSeconds!;
    expect(Number(env('SHUTDOWN_DRAIN_DELAY_MS') ?? SHUTDOWN_DRAIN_DELAY_MS)).toBeLessThan(grace * 1000);
    expect(Number(env('SHUTDOWN_TIMEOUT_MS'))).toBeLessThan(grace * 1000);
  });

  it('fails liveness (not exit) on errors only a restart cures', () => {
    expect(env('GPU_UNRECOVERABLE_ACTION')).toBe('fail-liveness');
  });

  it('runs non-root, read-only, without capabilities, under RuntimeDefault seccomp', () => {
    const pod = deployment().spec!.template.spec!;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.securityContext!.runAsUser).toBeGreaterThan(0);
    expect(container().securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it('runs as the user the image declares', () => {
    const user = /^USER (\d+):(\d+)$/m.exec(read('Dockerfile'))!;
    const pod = deployment().spec!.template.spec!;
    expect(pod.securityContext!.runAsUser).toBe(Number(user[1]));
    expect(pod.securityContext!.runAsGroup).toBe(Number(user[2]));
  });

  it('is selected by its Service on the named http port', () => {
    const service = find<Service>('deploy/kubernetes/base', 'Service');
    expect(service.spec!.selector).toEqual(deployment().spec!.selector.matchLabels);
    expect(deployment().spec!.template.metadata!.labels).toMatchObject(service.spec!.selector!);
    expect(service.spec!.ports![0]).toMatchObject({ name: 'http', targetPort: 'http' });
    expect(container().ports).toEqual([expect.objectContaining({ name: 'http', containerPort: 8000 })]);
  });
});

describe('the ServiceMonitor component', () => {
  it('scrapes /metrics on the service http port, selecting the service', () => {
    const monitor = find<ServiceMonitor>('deploy/kubernetes/overlays/example', 'ServiceMonitor');
    const service = find<Service & Manifest>('deploy/kubernetes/overlays/example', 'Service');
    expect(monitor.metadata.namespace).toBe(service.metadata.namespace);
    expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })]);
    for (const [label, value] of Object.entries(monitor.spec.selector.matchLabels ?? {})) {
      expect(service.metadata.labels?.[label]).toBe(value);
    }
    for (const endpoint of monitor.spec.endpoints) {
      for (const d of [endpoint.interval, endpoint.scrapeTimeout]) expect(d).toMatch(/^(\d+(ms|s|m|h))+$/);
    }
  });
});

import { Ajv, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { COMPOSE_TAGS, durationMs, parseYaml, read, ROOT, run } from './deploy.support.js';

// The current compose-spec schema, as shipped by dclint.
const SCHEMA = JSON.parse(read('node_modules/dclint/schemas/compose.schema.json')) as object;
const ajv = new Ajv({ strict: false, validateSchema: false, allErrors: true });
addFormats.default(ajv);
const validateCompose = ajv.compile(SCHEMA);

const explain = (errors: ErrorObject[] | null | undefined): string[] =>
  (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}${e.params && 'additionalProperty' in e.params ? `: ${String(e.params.additionalProperty)}` : ''}`);

type Env = Record<string, string>;
interface Mount {
  type?: string;
  source?: string;
  target?: string;
  read_only?: boolean;
}
interface Device {
  driver?: string;
  count?: number | string;
  device_ids?: string[];
  capabilities?: string[];
}
/** The fields of a compose service that these tests read. */
interface Service {
  build: { context: string; target: string };
  ports: unknown[];
  environment: Env;
  deploy?: { resources?: { reservations?: { devices?: Device[] } } };
  restart: string;
  healthcheck: { test: string[]; timeout: string; start_period: string; interval: string; [field: string]: unknown };
  stop_grace_period: string;
  read_only: boolean;
  cap_drop: string[];
  security_opt: string[];
  volumes: Mount[];
}
interface ComposeFile {
  name?: string;
  services: Record<string, Service>;
}

const FILES = ['compose.yaml', 'compose.sim.yaml'];
const load = (file: string): ComposeFile => parseYaml<ComposeFile>(read(file), file, COMPOSE_TAGS);

describe('compose files against the compose-spec schema', () => {
  for (const file of FILES) {
    it(`${file} validates`, () => {
      const ok = validateCompose(load(file));
      expect(explain(validateCompose.errors), `${file} breaks the compose spec`).toEqual([]);
      expect(ok).toBe(true);
    });
  }

  it('the schema does catch a misspelled field (the check is live)', () => {
    const broken = load('compose.yaml');
    broken.services['gpu-service']!.healthcheck.intervall = '10s';
    expect(validateCompose(broken)).toBe(false);
    expect(explain(validateCompose.errors).join('\n')).toContain('intervall');
  });
});

describe('compose.yaml', () => {
  const service = load('compose.yaml').services['gpu-service']!;

  it('builds the runtime target and publishes PORT', () => {
    expect(service.build).toMatchObject({ context: '.', target: 'runtime' });
    expect(service.ports).toEqual(['${BIND_ADDRESS:-127.0.0.1}:${PORT:-8000}:${PORT:-8000}']);
    expect(service.environment.PORT).toBe('${PORT:-8000}');
  });

  it('reserves NVIDIA GPUs through the device reservation', () => {
    const devices = service.deploy!.resources!.reservations!.devices!;
    expect(devices).toHaveLength(1);
    expect(devices[0]).toMatchObject({ driver: 'nvidia', capabilities: ['gpu'] });
    expect('count' in devices[0]! || 'device_ids' in devices[0]!).toBe(true);
  });

  it('exits on unrecoverable NVML errors so that the restart policy acts', () => {
    expect(service.environment.GPU_UNRECOVERABLE_ACTION).toBe('exit');
    expect(service.restart).toMatch(/^(always|unless-stopped|on-failure)/);
  });

  it('checks health with the image health check, its start period covering the GPU start-up', () => {
    expect(service.healthcheck.test).toEqual(['CMD', 'node', 'dist/src/healthcheck.js']);
    expect(durationMs(service.healthcheck.timeout)).toBeLessThanOrEqual(10_000);
    expect(durationMs(service.healthcheck.start_period)).toBeGreaterThanOrEqual(30_000);
  });

  it('gives the drain time to finish before a SIGKILL', () => {
    const drainMs = Number(/:-(\d+)\}/.exec(service.environment.SHUTDOWN_DRAIN_DELAY_MS!)![1]);
    const timeoutMs = Number(/:-(\d+)\}/.exec(service.environment.SHUTDOWN_TIMEOUT_MS!)![1]);
    expect(durationMs(service.stop_grace_period)).toBeGreaterThan(drainMs);
    expect(durationMs(service.stop_grace_period)).toBeGreaterThan(timeoutMs);
  });

  it('runs read-only without capabilities', () => {
    expect(service.read_only).toBe(true);
    expect(service.cap_drop).toEqual(['ALL']);
    expect(service.security_opt).toContain('no-new-privileges:true');
  });
});

describe('compose.sim.yaml', () => {
  const service = load('compose.sim.yaml').services['gpu-service']!;

  it('points NVML and CUDA at the simulator libraries it mounts read-only', () => {
    const mounts = service.volumes;
    const sim = mounts.find((m) => m.source === './build/sim')!;
    expect(sim).toMatchObject({ type: 'bind', read_only: true });
    expect(service.environment.NVML_LIBRARY_PATH).toBe(`${String(sim.target)}/libnvidia-ml.so.1`);
    expect(service.environment.CUDA_LIBRARY_PATH).toBe(`${String(sim.target)}/libcuda.so.1`);
    const scenarios = mounts.find((m) => m.source === './deploy/sim')!;
    expect(scenarios).toMatchObject({ type: 'bind', read_only: true });
    expect(service.environment.GPU_SIM_SCENARIO).toBe(`${String(scenarios.target)}/\${GPU_SIM_SCENARIO_FILE:-h200.ini}`);
    expect(read('deploy/sim/h200.ini')).toMatch(/^preset = h200$/m);
  });
});

describe('Docker Compose resolves the files as operators will run them', () => {
  let compose = '';
  const config = (...files: string[]): ComposeFile =>
    JSON.parse(
      run(compose, [...files.flatMap((f) => ['-f', f]), 'config', '--format', 'json'], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME },
      }),
    ) as ComposeFile;

  beforeAll(() => {
    compose = run(`${ROOT}/scripts/ensure-compose.sh`, []).trim();
  }, 120_000);

  it('compose.yaml: one GPU reserved from the nvidia driver, defaults filled in', () => {
    const service = config('compose.yaml').services['gpu-service']!;
    expect(service.deploy!.resources!.reservations!.devices).toEqual([{ driver: 'nvidia', count: 1, capabilities: ['gpu'] }]);
    expect(service.ports).toEqual([expect.objectContaining({ host_ip: '127.0.0.1', target: 8000, published: '8000' })]);
    expect(service.environment).toMatchObject({ PORT: '8000', GPU_UNRECOVERABLE_ACTION: 'exit' });
  });

  it('compose.yaml + compose.sim.yaml: no GPU reserved, the simulator mounted and named', () => {
    const service = config('compose.yaml', 'compose.sim.yaml').services['gpu-service']!;
    expect(service.deploy?.resources?.reservations?.devices ?? []).toEqual([]);
    expect(service.environment).toMatchObject({
      NVML_LIBRARY_PATH: '/opt/gpu-sim/libnvidia-ml.so.1',
      CUDA_LIBRARY_PATH: '/opt/gpu-sim/libcuda.so.1',
      GPU_SIM_SCENARIO: '/etc/gpu-sim/h200.ini',
      GPU_UNRECOVERABLE_ACTION: 'exit',
    });
    expect(service.volumes).toEqual([
      expect.objectContaining({ type: 'bind', source: `${ROOT}/build/sim`, target: '/opt/gpu-sim', read_only: true }),
      expect.objectContaining({ type: 'bind', source: `${ROOT}/deploy/sim`, target: '/etc/gpu-sim', read_only: true }),
    ]);
  });
});

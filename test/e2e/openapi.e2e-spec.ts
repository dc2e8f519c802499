import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { ensureSimBuilt, type SimScenario, simEnv, writeScenario } from '@app/gpu-sim';
import { Ajv } from 'ajv';
import formats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningService, startService, waitFor } from '../support/service.js';

// S18: the OpenAPI document of the built service validates as OpenAPI 3.x, documents every
// answer it gives (live bodies are validated against the document's own schemas), and Swagger
// can be switched off.

interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}
interface Operation {
  tags?: string[];
  responses: Record<string, Record<string, unknown> & { content?: Record<string, { schema?: Schema; example?: unknown }> }>;
}
type Schema = Record<string, unknown> & { properties?: Record<string, Schema>; $ref?: string; nullable?: boolean; example?: unknown };

const NO_STORE = 'no-cache, no-store, must-revalidate';
const PROBES = ['/health', '/health/live', '/health/ready', '/health/startup'];
const services: RunningService[] = [];

async function startSim(scenario: SimScenario, env: Record<string, string> = {}): Promise<RunningService> {
  const scenarioPath = writeScenario(scenario, mkdtempSync(join(tmpdir(), 'openapi-e2e-')));
  const service = await startService({ env: { ...simEnv({ scenarioPath }), ...env } });
  services.push(service);
  return service;
}

async function get(service: RunningService, path: string): Promise<{ status: number; headers: Headers; body: unknown }> {
  const res = await fetch(`${service.baseUrl}${path}`);
  const text = await res.text();
  const json = res.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as unknown) : text;
  return { status: res.status, headers: res.headers, body: json };
}

/** Validates bodies against the document's component schemas, OpenAPI 3.0 `nullable` included. */
function validator(doc: OpenApiDoc): (schema: string, body: unknown) => string[] {
  const ajv = new Ajv({ strict: false, allErrors: true });
  // ajv-formats is CommonJS: under NodeNext its function is the default export's `default`.
  formats.default(ajv);
  ajv.addSchema({ $id: 'openapi.json', components: doc.components });
  return (schema, body) => {
    const validate = ajv.getSchema(`openapi.json#/components/schemas/${schema}`);
    if (!validate) throw new Error(`no schema ${schema}`);
    return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
  };
}

beforeAll(() => {
  ensureSimBuilt();
});

afterAll(async () => {
  await Promise.all(services.map((s) => s.stop('SIGKILL')));
});

describe('OpenAPI document (S18)', () => {
  let service: RunningService;
  let doc: OpenApiDoc;

  beforeAll(async () => {
    service = await startSim({ preset: 'h200' });
    const res = await get(service, '/docs-json');
    if (res.status !== 200) throw new Error(`/docs-json answered ${res.status}`);
    doc = res.body as OpenApiDoc;
  });

  it('validates as OpenAPI 3.x', async () => {
    expect(doc.openapi).toMatch(/^3\./);
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeTruthy();
  });

  it('has no response object with a `schema` (Swagger 2) beside or instead of `content`', () => {
    const offending = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).flatMap(([method, op]) =>
        Object.entries(op.responses)
          .filter(([, response]) => 'schema' in response)
          .map(([code]) => `${method.toUpperCase()} ${path} ${code}`),
      ),
    );
    expect(offending).toEqual([]);
  });

  it('lists 200 and 503 for every probe under the health tag: JSON with the health schema, `?verbose` as text', async () => {
    const validate = validator(doc);
    for (const path of PROBES) {
      const op = doc.paths[path]?.get;
      expect(op, path).toBeDefined();
      expect(op!.tags).toEqual(['health']);
      for (const code of ['200', '503']) {
        const content = op!.responses[code]?.content ?? {};
        expect(Object.keys(content), `${path} ${code}`).toEqual(['application/json', 'text/plain']);
        expect(content['application/json']!.schema, `${path} ${code}`).toEqual({ $ref: '#/components/schemas/HealthResponseDto' });
        expect(validate('HealthResponseDto', content['application/json']!.example), `${path} ${code} example`).toEqual([]);
        expect((content['application/json']!.example as { status: string }).status).toBe(code === '200' ? 'ok' : 'error');
        expect(content['text/plain']!.schema, `${path} ${code}`).toEqual({ type: 'string' });
      }
      // The documented text is what a healthy service answers.
      const verbose = await get(service, `${path}?verbose`);
      expect(verbose.status).toBe(200);
      expect(verbose.body, path).toBe(op!.responses['200']!.content!['text/plain']!.example);
    }
  });

  it('documents /metrics as Prometheus text 0.0.4, apart from the probes', () => {
    const op = doc.paths['/metrics']?.get;
    expect(op?.tags).toEqual(['metrics']);
    const content = op!.responses['200']?.content;
    expect(Object.keys(content ?? {})).toEqual(['text/plain; version=0.0.4']);
    expect(content!['text/plain; version=0.0.4']).toMatchObject({ schema: { type: 'string' }, example: expect.stringContaining('DCGM_FI_DEV_GPU_TEMP{') });
    const health = Object.entries(doc.paths).filter(([, ops]) => ops.get?.tags?.includes('health')).map(([path]) => path);
    expect(health).not.toContain('/metrics');
  });

  it('documents every GPU field that can be null as nullable, and the live answers validate', async () => {
    const gpuDto = doc.components.schemas.GpuDto!.properties!;
    const nullable = Object.entries(gpuDto).filter(([, s]) => s.nullable === true).map(([name]) => name);
    // Everything the GPU reports, and what depends on a sample or a finding.
    for (const field of [
      'serial', 'computeCapability', 'nvmlCode', 'nvmlName', 'sampledAt', 'ageMs', 'clockEventReasonNames', 'processes',
      'memoryTotalBytes', 'memoryReservedBytes', 'memoryUsedBytes', 'memoryFreeBytes', 'temperatureCelsius', 'temperatureSlowdownCelsius',
      'temperatureShutdownCelsius', 'powerUsageMilliwatts', 'powerLimitMilliwatts', 'energyConsumedMillijoules', 'utilizationGpuPercent',
      'utilizationMemoryPercent', 'performanceState', 'clockEventReasons', 'smClockMhz', 'memoryClockMhz', 'fanSpeedPercent', 'eccEnabled',
      'eccVolatileUncorrected', 'eccVolatileCorrected', 'eccAggregateUncorrected', 'remappedRowsCorrectable', 'remappedRowsUncorrectable',
      'remappedRowsPending', 'remappedRowsFailure',
    ]) {
      expect(nullable, field).toContain(field);
    }
    const validate = validator(doc);
    const gpus = await get(service, '/gpus');
    expect(gpus.status).toBe(200);
    expect(validate('GpuListDto', gpus.body)).toEqual([]);
    // Whatever is null in a live answer is documented as nullable.
    const list = (gpus.body as { gpus: Array<Record<string, unknown>> }).gpus;
    const nulls = list.flatMap((g) => Object.entries(g).filter(([, v]) => v === null).map(([k]) => k));
    expect(nulls).toContain('fanSpeedPercent');
    for (const key of nulls) expect(nullable, key).toContain(key);
    const uuid = list[0]!.uuid as string;
    // The validator is strict where the document is: null in a field not marked nullable fails.
    expect(validate('GpuDto', { ...list[0], index: null })).toEqual(['/index must be number']);
    expect(validate('GpuDto', (await get(service, `/gpus/${uuid}`)).body)).toEqual([]);
    expect(validate('ErrorDto', (await get(service, '/gpus/not-a-uuid')).body)).toEqual([]);
    expect(validate('ErrorDto', (await get(service, '/gpus/GPU-00000000-0000-0000-0000-000000000000')).body)).toEqual([]);
    for (const path of PROBES) {
      const res = await get(service, path);
      expect(res.status, path).toBe(200);
      expect(validate('HealthResponseDto', res.body), path).toEqual([]);
    }
    expect(validate('TransitionsDto', (await get(service, '/health/transitions')).body)).toEqual([]);
  });

  it('validates the GPUs of other models too: MIG, no dedicated memory', async () => {
    const validate = validator(doc);
    for (const preset of ['a100-mig', 'gh200'] as const) {
      const other = await startSim({ preset }, { GPU_MIN_MEMORY_GIB: '0' });
      const res = await get(other, '/gpus');
      expect(res.status, preset).toBe(200);
      expect(validate('GpuListDto', res.body), preset).toEqual([]);
      await other.stop('SIGKILL');
    }
  });

  it('gives an example for every plain property of every schema', () => {
    const missing = Object.entries(doc.components.schemas).flatMap(([name, schema]) =>
      Object.entries(schema.properties ?? {})
        .filter(([, p]) => {
          const items = p.items as Schema | undefined;
          const composite = p.$ref !== undefined || p.allOf !== undefined || items?.$ref !== undefined || (p.additionalProperties as Schema | undefined)?.$ref !== undefined;
          return !composite && !('example' in p);
        })
        .map(([prop]) => `${name}.${prop}`),
    );
    expect(missing).toEqual([]);
  });

  it('probe answers carry Cache-Control: no-cache, no-store, must-revalidate (200, text and 503)', async () => {
    for (const path of PROBES) {
      expect((await get(service, path)).headers.get('cache-control'), path).toBe(NO_STORE);
      expect((await get(service, `${path}?verbose`)).headers.get('cache-control'), `${path}?verbose`).toBe(NO_STORE);
    }
    const validate = validator(doc);
    // Readiness fails when a GPU has less free memory than required.
    const short = await startSim({ preset: 'h200' }, { GPU_MIN_FREE_MEMORY_GIB: '1000', GPU_POLL_INTERVAL_MS: '200' });
    let res = await get(short, '/health/ready');
    await waitFor(async () => (res = await get(short, '/health/ready')).status === 503, { what: 'readiness 503', timeoutMs: 10_000 });
    expect(res.headers.get('cache-control')).toBe(NO_STORE);
    expect(validate('HealthResponseDto', res.body)).toEqual([]);
    expect((await get(short, '/health')).headers.get('cache-control')).toBe(NO_STORE);
    await short.stop('SIGKILL');
  });
});

describe('Swagger switched off (SWAGGER_ENABLED=false)', () => {
  it('answers 404 for /docs, /docs-json and /docs-yaml, and serves the rest', async () => {
    const service = await startSim({ preset: 'h200' }, { SWAGGER_ENABLED: 'false' });
    for (const path of ['/docs', '/docs/', '/docs-json', '/docs-yaml']) expect((await get(service, path)).status, path).toBe(404);
    expect((await get(service, '/health/ready')).status).toBe(200);
    expect((await get(service, '/metrics')).status).toBe(200);
  });
});

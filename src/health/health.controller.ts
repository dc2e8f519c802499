import { BadRequestException, Controller, Get, Header, HttpStatus, Inject, Query, Res, ServiceUnavailableException } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { ApiExtraModels, ApiOkResponse, ApiOperation, ApiQuery, ApiServiceUnavailableResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { DiskHealthIndicator, HealthCheckService, type HealthCheckResult, type HealthIndicatorResult } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { healthConfig } from '../config/config.namespaces.js';
import { GpuHealthIndicator } from '../gpu/gpu.health.js';
import { GpuMonitor } from '../gpu/gpu.monitor.js';
import { HealthResponseDto, TransitionsDto } from './health.dto.js';
import { ProcessHealthIndicator } from './process.health.js';
import { ShutdownState } from './shutdown.state.js';

type Check = () => HealthIndicatorResult | Promise<HealthIndicatorResult>;
type Probe = 'livez' | 'readyz' | 'startupz' | 'healthz';

const NO_STORE = 'no-cache, no-store, must-revalidate';
const DISK_CACHE_MS = 1000;

/**
 * Kubernetes probes on Terminus. Liveness looks at the process only (and at NVML errors that
 * only a restart cures); readiness at the GPUs, heap and disk; start-up at the fail-fast check.
 * Answers are 200 or 503, never 500; `?verbose` lists every check as the API server's
 * `/readyz?verbose` does, `?exclude=<check>` skips checks.
 */
@ApiTags('health')
@Controller('health')
export class HealthController {
  private readonly live: Record<string, Check>;
  private readonly ready: Record<string, Check>;
  private readonly startup: Record<string, Check>;
  private readonly everything: Record<string, Check>;
  private diskCache: { atMs: number; result: Promise<HealthIndicatorResult> } | null = null;

  constructor(
    private readonly health: HealthCheckService,
    private readonly disk: DiskHealthIndicator,
    private readonly process: ProcessHealthIndicator,
    private readonly gpu: GpuHealthIndicator,
    private readonly shutdown: ShutdownState,
    private readonly monitor: GpuMonitor,
    @Inject(healthConfig.KEY) private readonly config: ConfigType<typeof healthConfig>,
  ) {
    this.live = {
      'event-loop': () => this.process.eventLoop('event-loop'),
      heap: () => this.process.heap('heap'),
      nvml: () => this.gpu.isAlive('nvml'),
    };
    this.ready = {
      shutdown: () => this.shutdown.check('shutdown'),
      gpu: () => this.gpu.isReady('gpu'),
      heap: () => this.process.heap('heap'),
      disk: () => this.diskUsage(),
    };
    this.startup = { startup: () => this.gpu.isStarted('startup') };
    this.everything = { ...this.live, ...this.ready, gpu: () => this.gpu.isReady('gpu', true), ...this.startup };
  }

  @Get('live')
  @ApiOperation({ summary: 'Liveness probe', description: 'Event-loop delay, heap against heap_size_limit, and NVML errors that only a restart cures. Never samples a GPU.' })
  @ProbeDocs('livez', ['event-loop', 'heap', 'nvml'])
  liveness(@Query('verbose') verbose: string | undefined, @Query('exclude') exclude: string | string[] | undefined, @Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult | string> {
    return this.run('livez', this.live, verbose, exclude, reply);
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness probe', description: 'Every selected GPU by UUID (status, reasons, NVML codes), heap and disk; 503 `shutting_down` while draining after SIGTERM. Readings are on /gpus and /health.' })
  @ProbeDocs('readyz', ['shutdown', 'gpu', 'heap', 'disk'])
  readiness(@Query('verbose') verbose: string | undefined, @Query('exclude') exclude: string | string[] | undefined, @Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult | string> {
    return this.run('readyz', this.ready, verbose, exclude, reply);
  }

  @Get('startup')
  @ApiOperation({ summary: 'Start-up probe', description: '200 once the fail-fast GPU check has passed (the server does not listen before).' })
  @ProbeDocs('startupz', ['startup'])
  startupProbe(@Query('verbose') verbose: string | undefined, @Query('exclude') exclude: string | string[] | undefined, @Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult | string> {
    return this.run('startupz', this.startup, verbose, exclude, reply);
  }

  @Get()
  @ApiOperation({ summary: 'Every check', description: 'Liveness, readiness and start-up checks together; each GPU with every reading, as on /gpus.' })
  @ProbeDocs('healthz', ['event-loop', 'heap', 'nvml', 'shutdown', 'gpu', 'disk', 'startup'])
  all(@Query('verbose') verbose: string | undefined, @Query('exclude') exclude: string | string[] | undefined, @Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult | string> {
    return this.run('healthz', this.everything, verbose, exclude, reply);
  }

  @Get('transitions')
  @Header('Cache-Control', NO_STORE)
  @ApiOperation({ summary: 'Recent GPU status changes', description: 'The last 100 transitions with cause, time and how long the previous status lasted.' })
  @ApiOkResponse({ type: TransitionsDto })
  transitions(): TransitionsDto {
    return { transitions: this.monitor.recentTransitions() };
  }

  /** Disk usage changes slowly: one statfs per second serves every probe in between. */
  private diskUsage(): Promise<HealthIndicatorResult> {
    const now = Date.now();
    if (!this.diskCache || now - this.diskCache.atMs > DISK_CACHE_MS) {
      this.diskCache = {
        atMs: now,
        result: this.disk.checkStorage('disk', { path: this.config.diskPath, thresholdPercent: this.config.diskMaxUsedRatio }),
      };
    }
    return this.diskCache.result;
  }

  private async run(
    probe: Probe,
    checks: Record<string, Check>,
    verbose: string | undefined,
    exclude: string | string[] | undefined,
    reply: FastifyReply,
  ): Promise<HealthCheckResult | string> {
    const excluded = exclude === undefined ? NONE : parseExclude(exclude, checks);
    const wantVerbose = verbose !== undefined && parseVerbose(verbose);
    let result: HealthCheckResult;
    try {
      result = await this.health.check(excluded.size === 0 ? guarded(checks) : guardedExcept(checks, excluded));
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      result = error.getResponse() as HealthCheckResult;
    }
    if (this.shutdown.draining && 'shutdown' in checks && !excluded.has('shutdown')) result.status = 'shutting_down';
    const ok = result.status === 'ok' || result.status === 'degraded';
    reply.status(ok ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    reply.header('Cache-Control', NO_STORE);
    if (!wantVerbose) return result;
    reply.type('text/plain; charset=utf-8');
    return verboseText(probe, Object.keys(checks), excluded, result, ok);
  }
}

const runners = new WeakMap<Record<string, Check>, Array<() => Promise<HealthIndicatorResult>>>();

/** The guarded runners of a check table, made once: probes come often and allocate little. */
function guarded(checks: Record<string, Check>): Array<() => Promise<HealthIndicatorResult>> {
  let list = runners.get(checks);
  if (!list) {
    list = Object.entries(checks).map(([name, check]) => () => guard(name, check));
    runners.set(checks, list);
  }
  return list;
}

function guardedExcept(checks: Record<string, Check>, excluded: ReadonlySet<string>): Array<() => Promise<HealthIndicatorResult>> {
  return Object.entries(checks)
    .filter(([name]) => !excluded.has(name))
    .map(([name, check]) => () => guard(name, check));
}

/** Runs one check; anything it throws becomes `down` for that check (never an HTTP 500). */
async function guard(name: string, check: Check): Promise<HealthIndicatorResult> {
  try {
    return await check();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { [name]: { status: 'down', reason: 'check_failed', message } };
  }
}

const NONE: ReadonlySet<string> = new Set();

function parseExclude(exclude: string | string[], checks: Record<string, Check>): ReadonlySet<string> {
  const names = (Array.isArray(exclude) ? exclude : [exclude]).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(n in checks));
  if (unknown.length > 0) {
    throw new BadRequestException(`unknown check ${unknown.join(', ')}; checks here: ${Object.keys(checks).join(', ')}`);
  }
  return new Set(names);
}

function parseVerbose(verbose: string): boolean {
  if (verbose === 'false' || verbose === '0') return false;
  if (verbose === '' || verbose === 'true' || verbose === '1') return true;
  throw new BadRequestException('verbose takes no value, or true/false');
}

/** The Kubernetes API server's verbose format: one `[+]name ok` / `[-]name failed` line per check. */
function verboseText(probe: Probe, names: string[], excluded: ReadonlySet<string>, result: HealthCheckResult, ok: boolean): string {
  const lines = names.map((name) => {
    if (excluded.has(name)) return `[+]${name} excluded: ok`;
    const detail = result.details[name] as Record<string, unknown> | undefined;
    if (!detail || detail.status === 'down') return `[-]${name} failed: ${String(detail?.reason ?? detail?.message ?? 'down')}`;
    return detail.status === 'degraded' ? `[+]${name} ok (degraded)` : `[+]${name} ok`;
  });
  const status = result.status === 'shutting_down' ? 'failed: shutting down' : ok ? 'passed' : 'failed';
  return `${lines.join('\n')}\n${probe} check ${status}\n`;
}

/** OpenAPI for a probe: query parameters and both answers, as Terminus's JSON body or as `?verbose` text. */
function ProbeDocs(probe: Probe, checks: string[]): MethodDecorator {
  return (target, key, descriptor) => {
    ApiQuery({ name: 'verbose', required: false, description: 'List every check as text, one `[+]name ok` / `[-]name failed` line each', allowEmptyValue: true, schema: { type: 'string', enum: ['', 'true', 'false', '1', '0'] } })(target, key, descriptor);
    ApiQuery({ name: 'exclude', required: false, description: `Checks to skip (repeat or comma-separate): ${checks.join(', ')}`, schema: { type: 'array', items: { type: 'string', enum: checks } }, style: 'form', explode: true })(target, key, descriptor);
    ApiExtraModels(HealthResponseDto)(target, key, descriptor);
    ApiOkResponse({ description: 'Healthy (status ok or degraded)', content: probeContent(probe, checks, null) })(target, key, descriptor);
    ApiServiceUnavailableResponse({ description: 'A check is down, or the service is shutting down', content: probeContent(probe, checks, failingCheck(checks)) })(target, key, descriptor);
  };
}

/** The check a 503 example shows down: the GPUs where they are checked. */
function failingCheck(checks: string[]): string {
  return ['gpu', 'nvml', 'startup'].find((c) => checks.includes(c)) ?? checks[0]!;
}

/** Both media types of a probe answer, with examples; `down` names the failing check of a 503. */
function probeContent(probe: Probe, checks: string[], down: string | null): Record<string, { schema: object; example: unknown }> {
  const reasons: Record<string, string> = { gpu: 'insufficient_healthy_gpus', nvml: 'nvml_unknown_error', startup: 'starting' };
  const details = Object.fromEntries(checks.map((c) => [c, c === down ? { status: 'down', reason: reasons[c] ?? 'check_failed' } : { status: 'up' }]));
  const up = Object.fromEntries(Object.entries(details).filter(([c]) => c !== down));
  const lines = checks.map((c) => (c === down ? `[-]${c} failed: ${reasons[c] ?? 'check_failed'}` : `[+]${c} ok`));
  return {
    'application/json': {
      schema: { $ref: getSchemaPath(HealthResponseDto) },
      example: { status: down ? 'error' : 'ok', info: up, error: down ? { [down]: details[down] } : {}, details },
    },
    'text/plain': { schema: { type: 'string' }, example: `${lines.join('\n')}\n${probe} check ${down ? 'failed' : 'passed'}\n` },
  };
}

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoggerService } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import type { HttpConfig } from './config/http.config.js';
import { UnavailableDto } from './gpu/gpu.dto.js';
import { GpuMonitor } from './gpu/gpu.monitor.js';
import { HEALTH_EXTRA_MODELS } from './health/health.module.js';

/** Options for the Fastify adapter: over-long path parameters are answered 404, not processed. */
export const FASTIFY_OPTIONS = { routerOptions: { maxParamLength: 200 }, bodyLimit: 64 * 1024 };

/** Nest's own start-up chatter (modules, routes) goes to debug; the service's lines stay at info. */
const FRAMEWORK_CONTEXTS = new Set(['NestFactory', 'InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestApplication']);

class QuietFrameworkLogger implements LoggerService {
  constructor(private readonly inner: LoggerService) {}

  log(message: unknown, ...params: unknown[]): void {
    const context = params[params.length - 1];
    if (typeof context === 'string' && FRAMEWORK_CONTEXTS.has(context)) this.inner.debug?.(message, ...params);
    else this.inner.log(message, ...params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.inner.error(message, ...params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.inner.warn(message, ...params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.inner.debug?.(message, ...params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.inner.verbose?.(message, ...params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.inner.fatal?.(message, ...params);
  }
}

/** name, version and description from the project's package.json. */
function packageInfo(): { version: string; description: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string; description: string };
    } catch {
      const parent = dirname(dir);
      if (parent === dir) return { version: '0.0.0', description: 'GPU service' };
      dir = parent;
    }
  }
}

/**
 * Everything main.ts and the e2e tests share: the logger, API docs, and the `X-GPU-Simulated`
 * header that marks every response when the GPUs are simulated.
 */
export function configureApp(app: NestFastifyApplication, http: Pick<HttpConfig, 'swaggerEnabled'>): OpenAPIObject | null {
  app.useLogger(new QuietFrameworkLogger(app.get(Logger)));
  app.flushLogs();

  const monitor = app.get(GpuMonitor);
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onSend', async (_request, reply, payload) => {
      const simulator = monitor.getInventory()?.library.simulator;
      if (simulator) reply.header('X-GPU-Simulated', simulator.preset ?? 'custom');
      return payload;
    });

  if (!http.swaggerEnabled) return null;
  const pkg = packageInfo();
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('GPU service')
      .setDescription(`${pkg.description}. Health probes for Kubernetes, GPU inventory by UUID.`)
      .setVersion(pkg.version)
      .build(),
    { extraModels: [...HEALTH_EXTRA_MODELS, UnavailableDto] },
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json', yamlDocumentUrl: 'docs-yaml' });
  return document;
}

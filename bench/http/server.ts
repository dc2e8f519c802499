// The service as src/main.ts builds it, from the built modules in dist/, plus one trivial route
// registered on the Fastify instance itself: the ceiling the probes are compared with. It
// passes through the same Fastify hooks and Nest middleware (request logging, the
// X-GPU-Simulated header) but runs no controller, guard or health check. Bench only: the
// production entry point has no such route.
//
// Configured by the same environment variables as the service; prints one JSON line
// {"benchServer":"listening",...} once it listens. SIGTERM closes it.
import 'reflect-metadata';
import { importDist } from '../lib/dist.js';
import { BARE_ROUTE } from './routes.js';

const { NestFactory } = await import('@nestjs/core');
const { FastifyAdapter } = await import('@nestjs/platform-fastify');
type NestFastifyApplication = import('@nestjs/platform-fastify').NestFastifyApplication;
const { AppModule } = await importDist<typeof import('../../src/app.module.js')>('src/app.module.js');
const { configureApp, FASTIFY_OPTIONS } = await importDist<typeof import('../../src/app.setup.js')>('src/app.setup.js');
const { loadHttpConfig, validateEnvironment } = await importDist<typeof import('../../src/config/index.js')>('src/config/index.js');
const { rootLogger } = await importDist<typeof import('../../src/logging/root-logger.js')>('src/logging/root-logger.js');
const { exitNow } = await importDist<typeof import('../../libs/ffi/src/index.js')>('libs/ffi/src/index.js');

validateEnvironment(process.env);
const http = loadHttpConfig(process.env);
rootLogger(http);

const app = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter(FASTIFY_OPTIONS), {
  bufferLogs: true,
  abortOnError: false,
});
configureApp(app, http);
const BARE_BODY = { status: 'ok' };
app
  .getHttpAdapter()
  .getInstance()
  .get(BARE_ROUTE, (_request, reply) => {
    void reply.send(BARE_BODY);
  });

process.once('SIGTERM', () => {
  // process.exit lets --cpu-prof write its profile; a thread stuck in a driver call would keep
  // the process alive, so _exit follows after a grace period.
  setTimeout(() => exitNow(0), 3_000).unref();
  void app.close().then(() => process.exit(0));
});

await app.listen({ port: http.port, host: http.host });
process.stdout.write(`${JSON.stringify({ benchServer: 'listening', port: http.port, pid: process.pid })}\n`);

import 'reflect-metadata';
import { flushCompileCache } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Logger } from 'pino';
import { exitNow } from '@app/ffi';
import { AppModule } from './app.module.js';
import { configureApp, FASTIFY_OPTIONS } from './app.setup.js';
import type { HttpConfig } from './config/http.config.js';
import { ExitCode } from './exit-codes.js';
import { refusalRecord, StartupRefusedError } from './gpu/gpu.startup.js';
import { ShutdownState } from './health/shutdown.state.js';

/**
 * Starts Nest (the GPU check runs before the server listens) and owns the process's fate from
 * there: the start-up refusal line and exit code, and the SIGTERM drain (readiness 503 first,
 * requests finish, NVML shuts down once, exit 0). Exits go through `exitNow`, so a thread stuck
 * in a hung driver call cannot keep the process alive.
 */
export async function bootstrap(http: HttpConfig, logger: Logger): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter(FASTIFY_OPTIONS), {
    bufferLogs: true,
    abortOnError: false,
  });
  configureApp(app, http);

  let stopping = false;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) return;
    stopping = true;
    app.get(ShutdownState).begin(signal);
    logger.info({ signal, drainDelayMs: http.drainDelayMs }, `${signal} received: readiness answers 503 while draining for ${http.drainDelayMs} ms`);
    setTimeout(() => {
      logger.error({ shutdownTimeoutMs: http.shutdownTimeoutMs }, 'shutdown did not finish in time; exiting');
      exitNow(Number(process.exitCode) || ExitCode.UNEXPECTED);
    }, http.shutdownTimeoutMs).unref();
    await sleep(http.drainDelayMs);
    await app.close();
    logger.info({ exitCode: process.exitCode ?? ExitCode.OK }, 'stopped');
    exitNow(Number(process.exitCode ?? ExitCode.OK));
  };
  process.once('SIGTERM', (s) => void stop(s));
  process.once('SIGINT', (s) => void stop(s));

  try {
    await app.listen({ port: http.port, host: http.host });
  } catch (error) {
    if (error instanceof StartupRefusedError) {
      logger.fatal(refusalRecord(error), error.message);
      await Promise.race([app.close().catch(() => undefined), sleep(2_000)]);
      exitNow(error.exitCode);
    }
    throw error;
  }
  logger.info({ port: http.port, host: http.host }, `listening on http://${http.host}:${http.port}`);
  // With NODE_COMPILE_CACHE set (the image sets it), write the V8 code cache of the module graph
  // now: exits go through _exit, which skips Node's own write at exit. A read-only cache
  // directory (the image's, made at build time) is read and left as it is.
  flushCompileCache();
}

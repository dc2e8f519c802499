import type { IncomingMessage, ServerResponse } from 'node:http';
import { Module, RequestMethod } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { rootLogger } from './root-logger.js';

const QUIET_PATH = /^\/(health|metrics)(\/|\?|$)/;

/** The path as the client sent it (Fastify's middleware layer rewrites `url` below its mount). */
const pathOf = (req: IncomingMessage & { originalUrl?: string }): string => req.originalUrl ?? req.url ?? '';

/**
 * nestjs-pino on the process's root logger. Request lines: probes and scrapes at debug level
 * (they arrive every few seconds; GPU failures are logged once, as transitions), 5xx as errors,
 * 4xx as warnings, the rest at info.
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      useFactory: () => ({
        // nestjs-pino's default route pattern matches nothing under Fastify with Nest 12.
        forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
        pinoHttp: {
          logger: rootLogger(),
          customLogLevel: (req: IncomingMessage, res: ServerResponse, error?: Error) => {
            const quiet = QUIET_PATH.test(pathOf(req));
            if (error || res.statusCode >= 500) return quiet && res.statusCode === 503 ? 'debug' : 'error';
            if (quiet) return 'debug';
            return res.statusCode >= 400 ? 'warn' : 'info';
          },
          serializers: {
            req: (req: { id: unknown; method: string; url: string; raw?: IncomingMessage & { originalUrl?: string } }) => ({
              id: req.id,
              method: req.method,
              url: req.raw ? pathOf(req.raw) : req.url,
            }),
            res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
          },
        },
      }),
    }),
  ],
})
export class LoggingModule {}

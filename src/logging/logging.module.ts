import type { IncomingMessage, ServerResponse } from 'node:http';
import { Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { rootLogger } from './root-logger.js';

const PROBE_PATH = /^\/health(\/|\?|$)/;

/**
 * nestjs-pino on the process's root logger. Request lines: probes at debug level (they arrive
 * every few seconds and their failures are logged as GPU transitions instead), 5xx as errors,
 * 4xx as warnings, the rest at info.
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      useFactory: () => ({
        pinoHttp: {
          logger: rootLogger(),
          customLogLevel: (req: IncomingMessage, res: ServerResponse, error?: Error) => {
            if (error || res.statusCode >= 500) return PROBE_PATH.test(req.url ?? '') && res.statusCode === 503 ? 'debug' : 'error';
            if (PROBE_PATH.test(req.url ?? '')) return 'debug';
            return res.statusCode >= 400 ? 'warn' : 'info';
          },
          serializers: {
            req: (req: { method: string; url: string; id: unknown }) => ({ id: req.id, method: req.method, url: req.url }),
            res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
          },
        },
      }),
    }),
  ],
})
export class LoggingModule {}

import { createRequire } from 'node:module';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { HttpConfig } from '../config/http.config.js';

let root: Logger | null = null;

/**
 * The process's one pino logger. Writes are synchronous, so the line written just before an
 * exit (the fatal start-up line) reaches stdout even when it is a pipe. `pretty` uses
 * pino-pretty when installed (development) and falls back to JSON lines.
 */
export function rootLogger(config?: Pick<HttpConfig, 'logLevel' | 'logFormat'>): Logger {
  if (root) return root;
  const level = config?.logLevel ?? 'info';
  root = pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, destination(config?.logFormat ?? 'json'));
  return root;
}

function destination(format: 'json' | 'pretty'): DestinationStream {
  if (format === 'pretty') {
    try {
      const pretty = createRequire(import.meta.url)('pino-pretty') as (options: object) => DestinationStream;
      return pretty({ sync: true, colorize: process.stdout.isTTY, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
    } catch {
      // pino-pretty is a development dependency; production images log JSON.
    }
  }
  return pino.destination({ dest: 1, sync: true });
}

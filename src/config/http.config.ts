import { z } from 'zod';
import { envBool, envEnum, envInt, parseEnv } from './env.js';

/** The environment variables this feature reads, with their rules. */
export const httpEnvSchema = z.object({
  PORT: envInt(1, 65535, 8000),
  HOST: z.preprocess((v) => (v === '' ? undefined : v), z.string().default('0.0.0.0')),
  LOG_LEVEL: envEnum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
  LOG_FORMAT: envEnum(['json', 'pretty'], 'json'),
  SWAGGER_ENABLED: envBool(true),
  SHUTDOWN_DRAIN_DELAY_MS: envInt(0, 600_000, 5_000),
  SHUTDOWN_TIMEOUT_MS: envInt(1_000, 600_000, 20_000),
});

/** HTTP server, logging, API docs and shutdown settings. */
export interface HttpConfig {
  port: number;
  host: string;
  logLevel: z.infer<typeof httpEnvSchema>['LOG_LEVEL'];
  /** `json` lines (production) or `pretty` (development). */
  logFormat: 'json' | 'pretty';
  swaggerEnabled: boolean;
  /** After SIGTERM, readiness answers 503 for this long before the server stops, ms. */
  drainDelayMs: number;
  /** Longest the whole shutdown may take before the process exits anyway, ms. */
  shutdownTimeoutMs: number;
}

/** Reads and validates the HTTP settings. @throws ConfigValidationError */
export function loadHttpConfig(env: NodeJS.ProcessEnv): HttpConfig {
  const e = parseEnv(httpEnvSchema, env);
  return {
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    logFormat: env.LOG_FORMAT ? e.LOG_FORMAT : env.NODE_ENV === 'development' ? 'pretty' : 'json',
    swaggerEnabled: e.SWAGGER_ENABLED,
    drainDelayMs: e.SHUTDOWN_DRAIN_DELAY_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
  };
}

import { z } from 'zod';
import { envInt, envNumber, envOptionalInt, parseEnv } from './env.js';

/** The environment variables this feature reads, with their rules. */
export const healthEnvSchema = z.object({
  HEALTH_HEAP_MAX_RATIO: envNumber(0.01, 1, 0.9),
  HEALTH_HEAP_MAX_BYTES: envOptionalInt(1, Number.MAX_SAFE_INTEGER),
  HEALTH_EVENT_LOOP_DELAY_MAX_MS: envInt(1, 600_000, 1_000),
  HEALTH_DISK_PATH: z.preprocess((v) => (v === '' ? undefined : v), z.string().default('/')),
  HEALTH_DISK_MAX_USED_RATIO: envNumber(0.01, 1, 0.95),
});

/** Process and host health rules. */
export interface HealthConfig {
  /** Heap in use may reach this share of V8's `heap_size_limit` (ignored when bytes are set). */
  heapMaxRatio: number;
  /** Explicit heap limit, bytes. */
  heapMaxBytes: number | null;
  /** Liveness fails when the event loop lags more than this, ms. */
  eventLoopDelayMaxMs: number;
  diskPath: string;
  /** Readiness fails when the disk at `diskPath` is fuller than this share. */
  diskMaxUsedRatio: number;
}

/** Reads and validates the health rules. @throws ConfigValidationError */
export function loadHealthConfig(env: NodeJS.ProcessEnv): HealthConfig {
  const e = parseEnv(healthEnvSchema, env);
  return {
    heapMaxRatio: e.HEALTH_HEAP_MAX_RATIO,
    heapMaxBytes: e.HEALTH_HEAP_MAX_BYTES ?? null,
    eventLoopDelayMaxMs: e.HEALTH_EVENT_LOOP_DELAY_MAX_MS,
    diskPath: e.HEALTH_DISK_PATH,
    diskMaxUsedRatio: e.HEALTH_DISK_MAX_USED_RATIO,
  };
}

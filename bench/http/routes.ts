/**
 * The trivial route the bench launcher adds (bench/http/server.ts): under /health so that the
 * request logger treats it as it treats the probes (debug level, so no line per request).
 */
export const BARE_ROUTE = '/health/bench-bare';

/** The routes measured, by short name. */
export const ROUTES = {
  bare: BARE_ROUTE,
  live: '/health/live',
  ready: '/health/ready',
  gpus: '/gpus',
  metrics: '/metrics',
} as const;
export type RouteName = keyof typeof ROUTES;

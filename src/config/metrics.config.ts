import { hostname } from 'node:os';
import { z } from 'zod';
import { parseEnv } from './env.js';

/** The environment variables this feature reads, with their rules. */
export const metricsEnvSchema = z.object({
  METRICS_HOSTNAME: z.preprocess((v) => (v === '' ? undefined : v), z.string().max(253, 'must be at most 253 characters').optional()),
});

/** Settings of the Prometheus endpoint. */
export interface MetricsConfig {
  /**
   * The `Hostname` label of the GPU series (dcgm-exporter's label, which its Grafana dashboard
   * filters on). Defaults to the host name; in Kubernetes set METRICS_HOSTNAME to the node name
   * (downward API `spec.nodeName`), since a pod's host name is the pod's.
   */
  hostname: string;
}

/** Reads and validates the metrics settings. @throws ConfigValidationError */
export function loadMetricsConfig(env: NodeJS.ProcessEnv): MetricsConfig {
  const e = parseEnv(metricsEnvSchema, env);
  return { hostname: e.METRICS_HOSTNAME ?? hostname() };
}

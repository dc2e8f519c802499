import { ConfigValidationError, type ConfigIssue } from './env.js';
import { gpuEnvSchema, loadGpuConfig } from './gpu.config.js';
import { healthEnvSchema, loadHealthConfig } from './health.config.js';
import { httpEnvSchema, loadHttpConfig } from './http.config.js';
import { loadMetricsConfig, metricsEnvSchema } from './metrics.config.js';

export { type ConfigIssue, ConfigValidationError } from './env.js';
export { DEFAULT_IGNORED_XIDS, type GpuConfig, loadGpuConfig } from './gpu.config.js';
export { type HealthConfig, loadHealthConfig } from './health.config.js';
export { type HttpConfig, loadHttpConfig } from './http.config.js';
export { loadMetricsConfig, type MetricsConfig } from './metrics.config.js';

/**
 * Validates every feature's settings at once, so one run reports every invalid variable.
 * @throws ConfigValidationError listing each variable and the rule it breaks.
 */
export function validateEnvironment(env: NodeJS.ProcessEnv): void {
  const issues: ConfigIssue[] = [];
  for (const load of [loadHttpConfig, loadGpuConfig, loadHealthConfig, loadMetricsConfig]) {
    try {
      load(env);
    } catch (error) {
      if (!(error instanceof ConfigValidationError)) throw error;
      issues.push(...error.issues);
    }
  }
  if (issues.length > 0) throw new ConfigValidationError(issues);
}

/** Every environment variable the service reads. */
export const ENV_VARIABLES: readonly string[] = [httpEnvSchema, gpuEnvSchema, healthEnvSchema, metricsEnvSchema].flatMap((s) => Object.keys(s.shape));

import { registerAs } from '@nestjs/config';
import { loadHttpConfig } from './http.config.js';
import { loadGpuConfig } from './gpu.config.js';
import { loadHealthConfig } from './health.config.js';
import { loadMetricsConfig } from './metrics.config.js';

// The configuration namespaces Nest injects (`@Inject(gpuConfig.KEY)`, `ConfigType<typeof gpuConfig>`).
// Kept apart from the loaders so validating the environment does not load the framework.
export const httpConfig = registerAs('http', () => loadHttpConfig(process.env));
export const gpuConfig = registerAs('gpu', () => loadGpuConfig(process.env));
export const healthConfig = registerAs('health', () => loadHealthConfig(process.env));
export const metricsConfig = registerAs('metrics', () => loadMetricsConfig(process.env));

export { DCGM_FIELDS, DCGM_XID_ERRORS, type DcgmField } from './dcgm.fields.js';
export { GPU_LABEL_NAMES, type GpuLabels } from './gpu.labels.js';
export { metricsConfig } from '../config/config.namespaces.js';
export type { MetricsConfig } from '../config/metrics.config.js';
export { PROMETHEUS_TEXT } from './metrics.controller.js';
export { MetricsModule } from './metrics.module.js';
export { METRICS_REGISTRY } from './metrics.registry.js';

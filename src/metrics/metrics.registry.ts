import type { Provider } from '@nestjs/common';
import { collectDefaultMetrics, Registry } from 'prom-client';

/** DI token of the prom-client Registry behind /metrics (one per application, never the global one). */
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');

/** The registry, with prom-client's default process and Node.js metrics. */
export const metricsRegistryProvider: Provider = {
  provide: METRICS_REGISTRY,
  useFactory: (): Registry => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    return registry;
  },
};

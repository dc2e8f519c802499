import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import { healthConfig } from '../config/config.namespaces.js';
import { GpuModule } from '../gpu/gpu.module.js';
import { HealthModule } from '../health/health.module.js';
import { ProcessHealthIndicator } from '../health/process.health.js';
import { DcgmMetrics } from './dcgm.metrics.js';
import { GpuSeriesSource } from './gpu.series.js';
import { HealthMetrics } from './health.metrics.js';
import { MetricsController } from './metrics.controller.js';
import { metricsConfig } from '../config/config.namespaces.js';
import { metricsRegistryProvider } from './metrics.registry.js';
import { ServiceMetrics } from './service.metrics.js';

/**
 * `/metrics` for Prometheus on prom-client: the GPU series under dcgm-exporter's names, the
 * service's own metrics and prom-client's default process metrics. Every value is read when
 * scraped, from GpuMonitor and NvmlClient state; the registry is a provider (METRICS_REGISTRY).
 */
@Module({
  imports: [ConfigModule.forFeature(metricsConfig), ConfigModule.forFeature(healthConfig), TerminusModule, GpuModule, HealthModule],
  controllers: [MetricsController],
  providers: [metricsRegistryProvider, GpuSeriesSource, DcgmMetrics, ServiceMetrics, HealthMetrics, ProcessHealthIndicator],
})
export class MetricsModule {}

import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { gpuConfig } from './config/config.namespaces.js';
import { healthConfig } from './config/config.namespaces.js';
import { httpConfig } from './config/config.namespaces.js';
import { GpuModule } from './gpu/gpu.module.js';
import { HealthModule } from './health/health.module.js';
import { LoggingModule } from './logging/logging.module.js';
import { MetricsModule } from './metrics/metrics.module.js';

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [httpConfig, gpuConfig, healthConfig] }),
    LoggingModule,
    GpuModule,
    HealthModule,
    MetricsModule,
  ],
})
export class AppModule {}

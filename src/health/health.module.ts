import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import { healthConfig } from '../config/config.namespaces.js';
import { GpuModule } from '../gpu/gpu.module.js';
import { HealthController } from './health.controller.js';
import { HealthCheckDetailDto } from './health.dto.js';
import { ProcessHealthIndicator } from './process.health.js';
import { ShutdownState } from './shutdown.state.js';

/**
 * Kubernetes probes (`/health/live`, `/health/ready`, `/health/startup`, `/health`) on Terminus.
 * Terminus's own failure logging is off: GPU transitions are logged once by GpuMonitor.
 */
@Module({
  imports: [ConfigModule.forFeature(healthConfig), TerminusModule.forRoot({ logger: false }), GpuModule],
  controllers: [HealthController],
  providers: [ProcessHealthIndicator, ShutdownState],
  exports: [ShutdownState],
})
export class HealthModule {}

/** Schemas referenced by `$ref` only, registered with the OpenAPI document. */
export const HEALTH_EXTRA_MODELS = [HealthCheckDetailDto];

import { Module } from '@nestjs/common';
import { ConfigModule, type ConfigType } from '@nestjs/config';
import { CudaModule } from '@app/cuda';
import { NvmlModule } from '@app/nvml';
import { TerminusModule } from '@nestjs/terminus';
import { gpuConfig } from '../config/config.namespaces.js';
import { GpuController } from './gpu.controller.js';
import { GpuHealthIndicator } from './gpu.health.js';
import { GpuMonitor } from './gpu.monitor.js';
import { GpuStartupCheck } from './gpu.startup-check.js';

/**
 * GPUs: the fail-fast start-up check, background monitoring with the health policy, the
 * `/gpus` inventory and the GPU health indicators. The NVML and CUDA clients come from their
 * libraries; tests replace exactly those two providers.
 */
@Module({
  imports: [
    ConfigModule.forFeature(gpuConfig),
    TerminusModule,
    NvmlModule.forRootAsync({
      imports: [ConfigModule.forFeature(gpuConfig)],
      inject: [gpuConfig.KEY],
      useFactory: (config: ConfigType<typeof gpuConfig>) => ({
        libraryPath: config.nvmlLibraryPath,
        defaultTimeoutMs: config.callTimeoutMs,
      }),
    }),
    CudaModule.forRootAsync({
      imports: [ConfigModule.forFeature(gpuConfig)],
      inject: [gpuConfig.KEY],
      useFactory: (config: ConfigType<typeof gpuConfig>) => ({
        libraryPath: config.cudaLibraryPath,
        defaultTimeoutMs: config.startupTimeoutMs,
      }),
    }),
  ],
  controllers: [GpuController],
  providers: [GpuMonitor, GpuStartupCheck, GpuHealthIndicator],
  exports: [GpuMonitor, GpuStartupCheck, GpuHealthIndicator],
})
export class GpuModule {}

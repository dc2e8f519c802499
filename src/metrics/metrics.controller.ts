import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Registry } from 'prom-client';
import { GpuMonitor } from '../gpu/gpu.monitor.js';
import { METRICS_REGISTRY } from './metrics.registry.js';

/** The Prometheus text exposition format, version 0.0.4. */
export const PROMETHEUS_TEXT = 'text/plain; version=0.0.4';

const EXAMPLE = [
  '# HELP DCGM_FI_DEV_GPU_TEMP GPU temperature, degrees C.',
  '# TYPE DCGM_FI_DEV_GPU_TEMP gauge',
  'DCGM_FI_DEV_GPU_TEMP{gpu="0",UUID="GPU-a7edcf28-a056-2c49-34b6-5db71afeea6a",pci_bus_id="00000000:00:06.0",device="nvidia0",modelName="NVIDIA H200",Hostname="gpu-node-1",DCGM_FI_DRIVER_VERSION="580.159.04"} 41',
  '# HELP gpu_service_gpu_status Status of each monitored GPU under the health policy: 1 for the current status (up, degraded, down, lost), 0 for the others.',
  '# TYPE gpu_service_gpu_status gauge',
  'gpu_service_gpu_status{gpu="0",UUID="GPU-a7edcf28-a056-2c49-34b6-5db71afeea6a",pci_bus_id="00000000:00:06.0",device="nvidia0",modelName="NVIDIA H200",Hostname="gpu-node-1",status="up"} 1',
  '',
].join('\n');

/** Prometheus scrapes: GPU series under dcgm-exporter's names, the service's own, and the process's. */
@ApiTags('metrics')
@Controller('metrics')
export class MetricsController {
  constructor(
    @Inject(METRICS_REGISTRY) private readonly registry: Registry,
    private readonly monitor: GpuMonitor,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Prometheus metrics',
    description:
      'GPU gauges named and labelled as NVIDIA dcgm-exporter names them (DCGM_FI_DEV_*), the service’s own `gpu_service_*` metrics and the process’s. ' +
      'Answers from the GPU snapshot, sampling only when it is older than GPU_SNAPSHOT_MAX_AGE_MS; a reading a GPU cannot report is absent, never 0. See docs/metrics.md.',
  })
  @ApiProduces(PROMETHEUS_TEXT)
  @ApiOkResponse({
    description: 'Prometheus text exposition format 0.0.4',
    content: { [PROMETHEUS_TEXT]: { schema: { type: 'string' }, example: EXAMPLE } },
  })
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    await this.monitor.fresh();
    const body = await this.registry.metrics();
    reply.header('Content-Type', this.registry.contentType);
    return body;
  }
}

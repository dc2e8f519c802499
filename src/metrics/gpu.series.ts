import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { NvmlDeviceReadings } from '@app/nvml';
import { GpuMonitor, type MonitoredGpu } from '../gpu/gpu.monitor.js';
import { GPU_VIEW_STATUSES, type GpuViewStatus } from '../gpu/gpu.view.js';
import { DRIVER_VERSION_LABEL, type GpuLabels, gpuLabels } from './gpu.labels.js';
import { metricsConfig } from '../config/config.namespaces.js';

/** dcgm-exporter's labels of one GPU: identity labels plus the driver version. */
export type DcgmLabels = GpuLabels & { [DRIVER_VERSION_LABEL]: string };

/** Label objects of one GPU, built once: the registry formats an object's text once. */
interface GpuLabelSets {
  labels: GpuLabels;
  dcgmLabels: DcgmLabels;
  statusLabels: Record<GpuViewStatus, GpuLabels & { status: GpuViewStatus }>;
}

/** One monitored GPU with its labels, as the collectors see it at scrape time. */
export interface GpuSeries extends GpuLabelSets {
  gpu: MonitoredGpu;
  uuid: string;
  /** The readings of the last completed sample; null before one, or when the device failed as a whole. */
  readings: NvmlDeviceReadings | null;
}

/**
 * Reads GpuMonitor's state for the collectors, without calling NVML: the GPUs in display order
 * with their labels (built once per GPU, the identity is static) and their last readings.
 */
@Injectable()
export class GpuSeriesSource {
  private readonly cache = new Map<string, GpuLabelSets>();

  constructor(
    private readonly monitor: GpuMonitor,
    @Inject(metricsConfig.KEY) private readonly config: ConfigType<typeof metricsConfig>,
  ) {}

  list(): GpuSeries[] {
    return this.monitor.list().map((gpu) => {
      const uuid = gpu.inventory.identity.uuid;
      const sample = gpu.sample;
      return { gpu, uuid, ...this.labelSets(gpu), readings: sample && !sample.failure ? sample.readings : null };
    });
  }

  private labelSets(gpu: MonitoredGpu): GpuLabelSets {
    const uuid = gpu.inventory.identity.uuid;
    let sets = this.cache.get(uuid);
    if (!sets) {
      const labels = gpuLabels(gpu.inventory.identity, this.config.hostname);
      const driverVersion = this.monitor.getInventory()?.system.driverVersion ?? '';
      sets = {
        labels,
        dcgmLabels: { ...labels, [DRIVER_VERSION_LABEL]: driverVersion },
        statusLabels: Object.fromEntries(GPU_VIEW_STATUSES.map((status) => [status, { ...labels, status }])) as GpuLabelSets['statusLabels'],
      };
      this.cache.set(uuid, sets);
    }
    return sets;
  }
}

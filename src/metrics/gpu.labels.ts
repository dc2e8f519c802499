import type { NvmlDeviceIdentity } from '@app/nvml';

/**
 * The labels dcgm-exporter puts on every GPU series, in its order: the NVML index, the UUID, the
 * PCI bus id, the device node (`nvidia<index>`, as dcgm-exporter derives it from the GPU id),
 * the model name and the host name. NVIDIA's Grafana dashboard filters on `Hostname` and `gpu`.
 */
export const GPU_LABEL_NAMES = ['gpu', 'UUID', 'pci_bus_id', 'device', 'modelName', 'Hostname'] as const;

export type GpuLabelName = (typeof GPU_LABEL_NAMES)[number];
export type GpuLabels = Record<GpuLabelName, string>;

/** dcgm-exporter adds the driver version to its GPU series as a label of this name. */
export const DRIVER_VERSION_LABEL = 'DCGM_FI_DRIVER_VERSION';

/** The dcgm-exporter identity labels of one GPU. */
export function gpuLabels(identity: Pick<NvmlDeviceIdentity, 'index' | 'uuid' | 'pciBusId' | 'name'>, hostname: string): GpuLabels {
  return {
    gpu: String(identity.index),
    UUID: identity.uuid,
    pci_bus_id: identity.pciBusId,
    device: `nvidia${identity.index}`,
    modelName: identity.name,
    Hostname: hostname,
  };
}

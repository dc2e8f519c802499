import type { CudaInventory } from '@app/cuda';
import type { NvmlDeviceIdentity } from '@app/nvml';
import type { InventoryGpu } from './gpu.inventory.js';
import type { StartupProblem } from './gpu.startup.js';

/** The device selectors in effect. */
export interface SelectorSettings {
  /** `CUDA_VISIBLE_DEVICES` (CUDA syntax: ordinals, UUIDs or unique prefixes, MIG UUIDs). */
  cudaVisibleDevices: string | null;
  /** `NVIDIA_VISIBLE_DEVICES` (container toolkit syntax: all, none, void, indexes, UUIDs). */
  nvidiaVisibleDevices: string | null;
}

export interface Selection {
  gpus: Array<Omit<InventoryGpu, 'smokeTest'>>;
  notSelected: string[];
  problems: StartupProblem[];
}

const entries = (value: string): string[] =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

const isUuidSelector = (entry: string): boolean => /^(GPU|MIG)-/i.test(entry);

/**
 * Chooses the GPUs the service uses, keyed by UUID.
 *
 * `NVIDIA_VISIBLE_DEVICES` is applied by the container runtime before the process starts (NVML
 * then sees only those devices, renumbered), so here its UUID entries are only checked to be
 * present; its indexes are host indexes and cannot be checked inside the container.
 *
 * `CUDA_VISIBLE_DEVICES` is resolved by the CUDA driver itself (`cuInit`, honouring
 * `CUDA_DEVICE_ORDER`), exactly as for any CUDA program in this process; each CUDA device is
 * then matched to its NVML device by UUID (`cuDeviceGetUuid_v2`). CUDA stops at the first entry
 * that matches nothing, which is reported as `visible_device_not_found`.
 */
export function selectGpus(identities: readonly NvmlDeviceIdentity[], cuda: CudaInventory | null, settings: SelectorSettings): Selection {
  const problems: StartupProblem[] = [];
  const nvidia = settings.nvidiaVisibleDevices?.trim() ?? '';
  for (const entry of entries(nvidia).filter(isUuidSelector)) {
    const found = identities.some(
      (id) => id.uuid.startsWith(entry) || id.migDevices.some((mig) => mig.uuid.startsWith(entry)),
    );
    if (!found) {
      problems.push({
        reason: 'visible_device_not_found',
        detail: `NVIDIA_VISIBLE_DEVICES names ${entry}, which NVML does not see`,
      });
    }
  }

  const byUuid = new Map(identities.map((id) => [id.uuid, id]));
  const parentOfMig = new Map(identities.flatMap((id) => id.migDevices.map((mig) => [mig.uuid, id] as const)));

  if (settings.cudaVisibleDevices === null) {
    const gpus = identities.map((identity) => ({
      identity,
      cudaOrdinal: cudaOrdinalOf(identity, cuda),
      selectedMigUuids: null,
    }));
    return { gpus, notSelected: [], problems };
  }

  const wanted = entries(settings.cudaVisibleDevices);
  const devices = cuda?.devices ?? [];
  if (devices.length < wanted.length || wanted.length === 0) {
    const entry = wanted[devices.length];
    problems.push({
      reason: 'visible_device_not_found',
      detail:
        entry === undefined
          ? 'CUDA_VISIBLE_DEVICES is empty: CUDA sees no device'
          : `CUDA_VISIBLE_DEVICES entry "${entry}" matches no device CUDA can see`,
    });
  }
  const selected = new Map<string, Omit<InventoryGpu, 'smokeTest'>>();
  for (const device of devices) {
    const whole = byUuid.get(device.uuid);
    const parent = whole ?? parentOfMig.get(device.uuid);
    if (!parent) {
      problems.push({
        reason: 'visible_device_not_found',
        detail: `CUDA device ${device.ordinal} (${device.uuid}) is not visible to NVML`,
      });
      continue;
    }
    const entry = selected.get(parent.uuid) ?? { identity: parent, cudaOrdinal: device.ordinal, selectedMigUuids: whole ? null : [] };
    if (!whole) entry.selectedMigUuids?.push(device.uuid);
    selected.set(parent.uuid, entry);
  }
  const notSelected = identities.filter((id) => !selected.has(id.uuid)).map((id) => id.uuid);
  return { gpus: [...selected.values()], notSelected, problems };
}

/** The CUDA ordinal that reaches this GPU: the GPU itself, or its first MIG device under MIG. */
function cudaOrdinalOf(identity: NvmlDeviceIdentity, cuda: CudaInventory | null): number | null {
  if (!cuda) return null;
  const migUuids = new Set(identity.migDevices.map((m) => m.uuid));
  const device = cuda.devices.find((d) => d.uuid === identity.uuid) ?? cuda.devices.find((d) => migUuids.has(d.uuid));
  return device?.ordinal ?? null;
}

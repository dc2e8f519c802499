import koffi, { type TypeObject } from 'koffi';

// Struct layouts from nvml.h. Out-parameters are passed as preallocated buffers and decoded at
// these offsets; the ABI test compares every size and offset with the genuine header.

/** nvmlPciInfo_t (used by nvmlDeviceGetPciInfo_v3). */
export const NvmlPciInfo = koffi.struct('nvmlPciInfo_t', {
  busIdLegacy: koffi.array('char', 16),
  domain: 'uint32_t',
  bus: 'uint32_t',
  device: 'uint32_t',
  pciDeviceId: 'uint32_t',
  pciSubSystemId: 'uint32_t',
  busId: koffi.array('char', 32),
});

/** nvmlMemory_t (nvmlDeviceGetMemoryInfo). */
export const NvmlMemoryV1 = koffi.struct('nvmlMemory_t', {
  total: 'unsigned long long',
  free: 'unsigned long long',
  used: 'unsigned long long',
});

/** nvmlMemory_v2_t (nvmlDeviceGetMemoryInfo_v2); `version` must be sizeof | 2 << 24. */
export const NvmlMemoryV2 = koffi.struct('nvmlMemory_v2_t', {
  version: 'unsigned int',
  total: 'unsigned long long',
  reserved: 'unsigned long long',
  free: 'unsigned long long',
  used: 'unsigned long long',
});

/** `nvmlMemory_v2` of nvml.h: what `nvmlDeviceGetMemoryInfo_v2` expects in `version`. */
export const NVML_MEMORY_V2_VERSION = NvmlMemoryV2.size | (2 << 24);

/** nvmlUtilization_t (nvmlDeviceGetUtilizationRates). */
export const NvmlUtilization = koffi.struct('nvmlUtilization_t', {
  gpu: 'unsigned int',
  memory: 'unsigned int',
});

/** nvmlProcessInfo_t (nvmlDeviceGetComputeRunningProcesses_v3 and _v2). */
export const NvmlProcessInfo = koffi.struct('nvmlProcessInfo_t', {
  pid: 'unsigned int',
  usedGpuMemory: 'unsigned long long',
  gpuInstanceId: 'unsigned int',
  computeInstanceId: 'unsigned int',
});

/** nvmlProcessInfo_v1_t (nvmlDeviceGetComputeRunningProcesses, the oldest form). */
export const NvmlProcessInfoV1 = koffi.struct('nvmlProcessInfo_v1_t', {
  pid: 'unsigned int',
  usedGpuMemory: 'unsigned long long',
});

/** nvmlEventData_t (nvmlEventSetWait_v2). */
export const NvmlEventData = koffi.struct('nvmlEventData_t', {
  device: 'void *',
  eventType: 'unsigned long long',
  eventData: 'unsigned long long',
  gpuInstanceId: 'unsigned int',
  computeInstanceId: 'unsigned int',
});

/** Every struct the binding declares, by its nvml.h name (for the ABI test). */
export const NVML_STRUCTS = {
  nvmlPciInfo_t: NvmlPciInfo,
  nvmlMemory_t: NvmlMemoryV1,
  nvmlMemory_v2_t: NvmlMemoryV2,
  nvmlUtilization_t: NvmlUtilization,
  nvmlProcessInfo_t: NvmlProcessInfo,
  nvmlProcessInfo_v1_t: NvmlProcessInfoV1,
  nvmlEventData_t: NvmlEventData,
} as const;

/** Size and member offsets of a declared struct, in bytes. */
export function structLayout(type: TypeObject): { size: number; offsets: Record<string, number> } {
  const offsets: Record<string, number> = {};
  for (const [name, member] of Object.entries(type.members ?? {})) offsets[name] = member.offset;
  return { size: type.size, offsets };
}

/** Offset of one member, for decoding preallocated buffers. */
export function off(type: TypeObject, member: string): number {
  const found = type.members?.[member];
  if (!found) throw new Error(`${type.name} has no member ${member}`);
  return found.offset;
}

// GPU presets for the fakes, holding the same GPUs and values as the native simulator's presets
// (libs/gpu-sim/presets/*.ini); the contract suite runs against both, so they cannot drift.
import type { NvmlDeviceReadings, NvmlProcess } from '../nvml.types.js';

/** Readings a fake GPU reports as they are; null means the GPU answers NVML_ERROR_NOT_SUPPORTED. */
export type FakeReadings = Pick<
  NvmlDeviceReadings,
  | 'temperatureCelsius'
  | 'temperatureSlowdownCelsius'
  | 'temperatureShutdownCelsius'
  | 'powerUsageMilliwatts'
  | 'powerLimitMilliwatts'
  | 'energyConsumedMillijoules'
  | 'utilizationGpuPercent'
  | 'utilizationMemoryPercent'
  | 'performanceState'
  | 'clockEventReasons'
  | 'smClockMhz'
  | 'memoryClockMhz'
  | 'fanSpeedPercent'
  | 'eccEnabled'
  | 'eccVolatileUncorrected'
  | 'eccVolatileCorrected'
  | 'eccAggregateUncorrected'
>;

/** Framebuffer accounting as the driver keeps it (v2: `used` excludes `reserved`). */
export interface FakeMemory {
  totalBytes: number;
  reservedBytes: number;
  usedBytes: number;
}

/** Remapped-row counters; null on parts without row remapping. */
export interface FakeRemappedRows {
  correctable: number;
  uncorrectable: number;
  pending: boolean;
  failure: boolean;
}

/** A MIG device (GPU instance + compute instance) of a fake GPU. */
export interface FakeMigDevice {
  uuid: string;
  name: string;
  gpuInstanceId: number;
  computeInstanceId: number;
  memory: FakeMemory;
  multiprocessorCount: number;
}

/** One fake GPU. */
export interface FakeGpu {
  uuid: string;
  name: string;
  /** null: NOT_SUPPORTED (consumer parts). */
  serial: string | null;
  /** `domain:bus:device.function` as NVML formats it (`%08X:%02X:%02X.0`). */
  pciBusId: string;
  computeCapability: { major: number; minor: number };
  /** SM count: CUDA's default order puts the GPU with the most first. */
  multiprocessorCount: number;
  /** null: memory info is NOT_SUPPORTED (unified-memory parts). */
  memory: FakeMemory | null;
  /** What `cuDeviceTotalMem_v2` reports when not `total - reserved` (unified-memory parts). */
  cudaTotalMemoryBytes?: number;
  readings: FakeReadings;
  remappedRows: FakeRemappedRows | null;
  /** MIG mode in effect; null where MIG is not supported. */
  migEnabled: boolean | null;
  migDevices: FakeMigDevice[];
  processes: NvmlProcess[];
  /** `nvmlDeviceGetSupportedEventTypes` bitmask. */
  supportedEventTypes: number;
}

/** Versions the fake driver stack reports. */
export interface FakeSystem {
  driverVersion: string;
  nvmlVersion: string;
  /** `major.minor`; null: `nvmlSystemGetCudaDriverVersion_v2` fails. */
  cudaDriverVersion: string | null;
}

/** A named machine: its driver stack and GPUs in NVML index order. */
export interface NvmlPreset {
  name: string;
  system: FakeSystem;
  gpus: FakeGpu[];
}

export const NVML_PRESET_NAMES = ['h200', 'h100x8', 'a100-mig', 'gh200', 'empty', 'mixed-order', 'h200x16'] as const;
export type NvmlPresetName = (typeof NVML_PRESET_NAMES)[number];

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

const SYSTEM_580: FakeSystem = { driverVersion: '580.159.04', nvmlVersion: '13.580.159.04', cudaDriverVersion: '13.0' };

/** The H200 of the project's GPU machine, as NVML 580.159.04 reported it (nvprobe, nvidia-smi -q). */
function h200(): FakeGpu {
  return {
    uuid: 'GPU-a7edcf28-a056-2c49-34b6-5db71afeea6a',
    name: 'NVIDIA H200',
    serial: '1654024077256',
    pciBusId: '00000000:00:06.0',
    computeCapability: { major: 9, minor: 0 },
    multiprocessorCount: 132,
    memory: { totalBytes: 150754820096, reservedBytes: 644939776, usedBytes: 0 },
    readings: {
      temperatureCelsius: 41,
      temperatureSlowdownCelsius: 89,
      temperatureShutdownCelsius: 95,
      powerUsageMilliwatts: 128458,
      powerLimitMilliwatts: 700000,
      energyConsumedMillijoules: 2254251,
      utilizationGpuPercent: 0,
      utilizationMemoryPercent: 0,
      performanceState: 0,
      clockEventReasons: 0x1,
      smClockMhz: 1980,
      memoryClockMhz: 3201,
      fanSpeedPercent: null,
      eccEnabled: true,
      eccVolatileUncorrected: 0,
      eccVolatileCorrected: 0,
      eccAggregateUncorrected: 0,
    },
    remappedRows: { correctable: 0, uncorrectable: 0, pending: false, failure: false },
    migEnabled: false,
    migDevices: [],
    processes: [],
    supportedEventTypes: 0xff9f,
  };
}

/** NVIDIA H100 80GB HBM3 (DGX H100 style), as gpu 0 of the simulator's h100x8 preset. */
function h100(): FakeGpu {
  const gpu = h200();
  return {
    ...gpu,
    uuid: 'GPU-3d7e2c51-8a4f-4b6e-9c12-5f0a1e2d3c40',
    name: 'NVIDIA H100 80GB HBM3',
    serial: '1652923011001',
    pciBusId: '00000000:18:00.0',
    memory: { totalBytes: 81559 * MiB, reservedBytes: 551 * MiB, usedBytes: 0 },
    readings: {
      ...gpu.readings,
      temperatureCelsius: 34,
      temperatureShutdownCelsius: 92,
      powerUsageMilliwatts: 71234,
      energyConsumedMillijoules: 987654321,
      memoryClockMhz: 2619,
    },
  };
}

/** One A100-SXM4-80GB with MIG enabled and two 3g.40gb MIG devices (a process on the first). */
function a100Mig(): FakeGpu {
  const gpu = h200();
  const mig = (uuid: string, gpuInstanceId: number, usedBytes: number) => ({
    uuid,
    name: 'NVIDIA A100-SXM4-80GB MIG 3g.40gb',
    gpuInstanceId,
    computeInstanceId: 0,
    memory: { totalBytes: 40192 * MiB, reservedBytes: 0, usedBytes },
    multiprocessorCount: 42,
  });
  return {
    ...gpu,
    uuid: 'GPU-6b1f3c0e-92d4-4a57-b8e1-2c3d4e5f6a71',
    name: 'NVIDIA A100-SXM4-80GB',
    serial: '1323621047391',
    pciBusId: '00000000:07:00.0',
    computeCapability: { major: 8, minor: 0 },
    multiprocessorCount: 108,
    memory: { totalBytes: 81920 * MiB, reservedBytes: 491 * MiB, usedBytes: 0 },
    readings: {
      ...gpu.readings,
      temperatureCelsius: 32,
      temperatureShutdownCelsius: 92,
      powerUsageMilliwatts: 61842,
      powerLimitMilliwatts: 400000,
      energyConsumedMillijoules: 456789012,
      smClockMhz: 1410,
      memoryClockMhz: 1593,
    },
    migEnabled: true,
    migDevices: [mig('MIG-2f9c1b4e-7a3d-5e62-9b8c-1d2e3f4a5b60', 1, 2 * GiB), mig('MIG-8e7d6c5b-4a39-5f28-8d1c-0b9a8f7e6d51', 2, 0)],
    processes: [{ pid: 4242, usedMemoryBytes: 2 * GiB, gpuInstanceId: 1, computeInstanceId: 0 }],
  };
}

/** NVIDIA GH200 480GB: unified memory, so NVML memory info is NOT_SUPPORTED; CUDA reports 95 GiB. */
function gh200(): FakeGpu {
  const gpu = h200();
  return {
    ...gpu,
    uuid: 'GPU-0c4e8f2a-6b1d-4e93-a5c7-9d2f4b6e8a13',
    name: 'NVIDIA GH200 480GB',
    serial: '1655123004412',
    pciBusId: '00000009:01:00.0',
    memory: null,
    cudaTotalMemoryBytes: 95 * GiB,
    readings: {
      ...gpu.readings,
      temperatureCelsius: 38,
      temperatureSlowdownCelsius: 92,
      powerUsageMilliwatts: 104522,
      powerLimitMilliwatts: 900000,
      energyConsumedMillijoules: 1234567890,
      memoryClockMhz: 2619,
    },
  };
}

/** A Tesla T4 (Turing: no MIG, no row remapping, fewer event types), as gpu 0 of mixed-order. */
function t4(): FakeGpu {
  const gpu = h200();
  return {
    ...gpu,
    uuid: 'GPU-1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d',
    name: 'Tesla T4',
    serial: '1321020023456',
    pciBusId: '00000000:01:00.0',
    computeCapability: { major: 7, minor: 5 },
    multiprocessorCount: 40,
    memory: { totalBytes: 15360 * MiB, reservedBytes: 255 * MiB, usedBytes: 0 },
    readings: {
      ...gpu.readings,
      temperatureCelsius: 44,
      temperatureShutdownCelsius: 96,
      temperatureSlowdownCelsius: 93,
      powerUsageMilliwatts: 27152,
      powerLimitMilliwatts: 70000,
      energyConsumedMillijoules: 345678901,
      performanceState: 8,
      smClockMhz: 300,
      memoryClockMhz: 405,
    },
    remappedRows: null,
    migEnabled: null,
    supportedEventTypes: 0x1f,
  };
}

/** A GPU like `base` with its own identity (as the simulator's `like =`). */
function like(base: FakeGpu, uuid: string, pciBusId: string, serial: string, readings: Partial<FakeReadings> = {}): FakeGpu {
  const copy = structuredClone(base);
  return { ...copy, uuid, pciBusId, serial, readings: { ...copy.readings, ...readings } };
}

const H100X8 = [
  ['GPU-91b04e7a-2c3d-4f58-8e61-0a7b9c2d4e51', 0x2a, 36, 73418],
  ['GPU-c5a1f3e8-6d2b-4a79-b0c4-1e8f7a6d5c62', 0x3a, 33, 69872],
  ['GPU-0e9d8c7b-5a4f-4e3d-a2c1-b0f9e8d7c673', 0x5d, 37, 75120],
  ['GPU-7a6b5c4d-3e2f-4109-8f7e-6d5c4b3a2984', 0x9a, 35, 70544],
  ['GPU-e4f3a2b1-c0d9-4e8f-97a6-b5c4d3e2f195', 0xab, 38, 74309],
  ['GPU-5b6c7d8e-9fa0-4b1c-8d2e-3f4a5b6c7da6', 0xba, 34, 72011],
  ['GPU-a1b2c3d4-e5f6-4a7b-9c8d-e0f1a2b3c4b7', 0xdb, 36, 71856],
] as const;

const BUILDERS: Record<NvmlPresetName, () => NvmlPreset> = {
  h200: () => ({ name: 'h200', system: { ...SYSTEM_580 }, gpus: [h200()] }),
  h100x8: () => ({
    name: 'h100x8',
    system: { ...SYSTEM_580 },
    gpus: [
      h100(),
      ...H100X8.map(([uuid, bus, temperatureCelsius, powerUsageMilliwatts], i) =>
        like(h100(), uuid, busId(bus), `165292301100${i + 2}`, { temperatureCelsius, powerUsageMilliwatts }),
      ),
    ],
  }),
  'a100-mig': () => ({ name: 'a100-mig', system: { ...SYSTEM_580 }, gpus: [a100Mig()] }),
  gh200: () => ({ name: 'gh200', system: { ...SYSTEM_580 }, gpus: [gh200()] }),
  empty: () => ({ name: 'empty', system: { ...SYSTEM_580 }, gpus: [] }),
  'mixed-order': () => ({
    name: 'mixed-order',
    system: { ...SYSTEM_580 },
    gpus: [
      t4(),
      like(h100(), 'GPU-9f8e7d6c-5b4a-4c3d-9e2f-1a0b9c8d7e6f', busId(0x41), '1652923099001', {
        temperatureCelsius: 35,
        temperatureShutdownCelsius: 95,
        powerUsageMilliwatts: 72500,
        energyConsumedMillijoules: 876543210,
      }),
    ],
  }),
  h200x16: () => ({
    name: 'h200x16',
    system: { ...SYSTEM_580 },
    gpus: [
      h200(),
      ...Array.from({ length: 15 }, (_, i) =>
        like(h200(), `GPU-a7edcf28-a056-2c49-34b6-5db71afe${(i + 1).toString(16).padStart(4, '0')}`, busId(0x18 + 8 * i), String(1654024077257 + i)),
      ),
    ],
  }),
};

const hex = (n: number, width: number): string => n.toString(16).toUpperCase().padStart(width, '0');

/** NVML's form of a PCI bus id (`%08X:%02X:%02X.0`). */
function busId(bus: number, device = 0, domain = 0): string {
  return `${hex(domain, 8)}:${hex(bus, 2)}:${hex(device, 2)}.0`;
}

/** A fresh copy of a named preset (tests may change it freely). */
export function nvmlPreset(name: NvmlPresetName): NvmlPreset {
  const build = BUILDERS[name];
  if (!build) throw new Error(`unknown NVML preset '${name}' (known: ${NVML_PRESET_NAMES.join(', ')})`);
  return build();
}

/** Unused-memory arithmetic shared by the fakes: v2 free = total - reserved - used. */
export function freeBytes(memory: FakeMemory): number {
  return memory.totalBytes - memory.reservedBytes - memory.usedBytes;
}


/**
 * A fake GPU's readings as one sample of the binding returns them (v2 memory accounting, no MIG
 * devices), e.g. `presetReadings(nvmlPreset('h200').gpus[0]!)` for unit tests of what consumes
 * samples. `overrides` replace single readings.
 */
export function presetReadings(gpu: FakeGpu, overrides: Partial<NvmlDeviceReadings> = {}): NvmlDeviceReadings {
  const { memory, remappedRows } = gpu;
  return {
    memoryTotalBytes: memory?.totalBytes ?? null,
    memoryReservedBytes: memory?.reservedBytes ?? null,
    memoryUsedBytes: memory?.usedBytes ?? null,
    memoryFreeBytes: memory ? freeBytes(memory) : null,
    ...gpu.readings,
    remappedRowsCorrectable: remappedRows?.correctable ?? null,
    remappedRowsUncorrectable: remappedRows?.uncorrectable ?? null,
    remappedRowsPending: remappedRows?.pending ?? null,
    remappedRowsFailure: remappedRows?.failure ?? null,
    migEnabled: gpu.migEnabled,
    processes: [...gpu.processes],
    migDevices: [],
    ...overrides,
  };
}

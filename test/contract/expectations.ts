// What a preset must look like through the ports, written from the preset data on its own terms
// (not through the fake), so the fake and the native simulator are both held to it.
import type { CudaDevice } from '@app/cuda';
import {
  type NvmlCallError,
  type NvmlDeviceIdentity,
  type NvmlDeviceReadings,
  type NvmlDeviceSample,
  type NvmlReadingName,
  nvmlReturnName,
} from '@app/nvml';
import { type FakeGpu, type FakeReadings, freeBytes, type NvmlPreset } from '@app/nvml/testing';
import { expect } from 'vitest';

export const NOT_SUPPORTED = 3;

/** An NVML error in plain-data form; the text is the library's own and not compared. */
export function nvmlCallError(code: number, fn: string): NvmlCallError {
  return { code, name: nvmlReturnName(code), fn, message: expect.any(String) as unknown as string };
}

/** The NVML function each reading comes from. */
export const READING_FUNCTIONS: Record<keyof FakeReadings, string> = {
  temperatureCelsius: 'nvmlDeviceGetTemperature',
  temperatureSlowdownCelsius: 'nvmlDeviceGetTemperatureThreshold',
  temperatureShutdownCelsius: 'nvmlDeviceGetTemperatureThreshold',
  powerUsageMilliwatts: 'nvmlDeviceGetPowerUsage',
  powerLimitMilliwatts: 'nvmlDeviceGetEnforcedPowerLimit',
  energyConsumedMillijoules: 'nvmlDeviceGetTotalEnergyConsumption',
  utilizationGpuPercent: 'nvmlDeviceGetUtilizationRates',
  utilizationMemoryPercent: 'nvmlDeviceGetUtilizationRates',
  performanceState: 'nvmlDeviceGetPerformanceState',
  clockEventReasons: 'nvmlDeviceGetCurrentClocksEventReasons',
  smClockMhz: 'nvmlDeviceGetClockInfo',
  memoryClockMhz: 'nvmlDeviceGetClockInfo',
  fanSpeedPercent: 'nvmlDeviceGetFanSpeed',
  eccEnabled: 'nvmlDeviceGetEccMode',
  eccVolatileUncorrected: 'nvmlDeviceGetTotalEccErrors',
  eccVolatileCorrected: 'nvmlDeviceGetTotalEccErrors',
  eccAggregateUncorrected: 'nvmlDeviceGetTotalEccErrors',
};

/** listDevices() entry of a preset GPU. */
export function expectedIdentity(gpu: FakeGpu, index: number): NvmlDeviceIdentity {
  const errors: NvmlDeviceIdentity['errors'] = {};
  if (gpu.serial === null) errors.serial = nvmlCallError(NOT_SUPPORTED, 'nvmlDeviceGetSerial');
  if (gpu.memory === null) errors.memoryTotalBytes = nvmlCallError(NOT_SUPPORTED, 'nvmlDeviceGetMemoryInfo_v2');
  if (gpu.migEnabled === null) errors.migEnabled = nvmlCallError(NOT_SUPPORTED, 'nvmlDeviceGetMigMode');
  return {
    index,
    uuid: gpu.uuid,
    name: gpu.name,
    serial: gpu.serial,
    pciBusId: gpu.pciBusId,
    computeCapability: gpu.computeCapability,
    memoryTotalBytes: gpu.memory?.totalBytes ?? null,
    migEnabled: gpu.migEnabled,
    migDevices: gpu.migEnabled
      ? gpu.migDevices.map((m, i) => ({
          uuid: m.uuid,
          index: i,
          name: m.name,
          gpuInstanceId: m.gpuInstanceId,
          computeInstanceId: m.computeInstanceId,
          memoryTotalBytes: m.memory.totalBytes,
        }))
      : [],
    errors,
  };
}

/** sampleDevice() readings and errors of a preset GPU without faults. */
export function expectedSample(gpu: FakeGpu): Pick<NvmlDeviceSample, 'readings' | 'errors' | 'failure'> {
  const errors: NvmlDeviceSample['errors'] = {};
  const unsupported = (key: NvmlReadingName, fn: string) => (errors[key] = nvmlCallError(NOT_SUPPORTED, fn));
  const r = gpu.readings;
  const readings: NvmlDeviceReadings = {
    memoryTotalBytes: gpu.memory?.totalBytes ?? null,
    memoryReservedBytes: gpu.memory?.reservedBytes ?? null,
    memoryUsedBytes: gpu.memory?.usedBytes ?? null,
    memoryFreeBytes: gpu.memory ? freeBytes(gpu.memory) : null,
    ...r,
    remappedRowsCorrectable: gpu.remappedRows?.correctable ?? null,
    remappedRowsUncorrectable: gpu.remappedRows?.uncorrectable ?? null,
    remappedRowsPending: gpu.remappedRows?.pending ?? null,
    remappedRowsFailure: gpu.remappedRows?.failure ?? null,
    migEnabled: gpu.migEnabled,
    processes: gpu.processes,
    migDevices: gpu.migEnabled
      ? gpu.migDevices.map((m) => ({
          uuid: m.uuid,
          memoryTotalBytes: m.memory.totalBytes,
          memoryUsedBytes: m.memory.usedBytes,
          memoryFreeBytes: freeBytes(m.memory),
        }))
      : [],
  };
  if (!gpu.memory) {
    for (const key of ['memoryTotalBytes', 'memoryReservedBytes', 'memoryUsedBytes', 'memoryFreeBytes'] as const) {
      unsupported(key, 'nvmlDeviceGetMemoryInfo_v2');
    }
  }
  if (gpu.readings.eccEnabled === false) {
    readings.eccVolatileUncorrected = readings.eccVolatileCorrected = readings.eccAggregateUncorrected = null;
  }
  // With MIG enabled there is no whole-GPU utilization.
  if (gpu.migEnabled) {
    readings.utilizationGpuPercent = null;
    readings.utilizationMemoryPercent = null;
  }
  for (const [key, fn] of Object.entries(READING_FUNCTIONS) as Array<[keyof FakeReadings, string]>) {
    if (readings[key] === null) unsupported(key, fn);
  }
  if (!gpu.remappedRows) {
    for (const key of ['remappedRowsCorrectable', 'remappedRowsUncorrectable', 'remappedRowsPending', 'remappedRowsFailure'] as const) {
      unsupported(key, 'nvmlDeviceGetRemappedRows');
    }
  }
  if (gpu.migEnabled === null) unsupported('migEnabled', 'nvmlDeviceGetMigMode');
  return { readings, errors, failure: null };
}

/** The UUIDs NVML knows: every GPU and every MIG device. */
export function nvmlUuids(preset: NvmlPreset): string[] {
  return preset.gpus.flatMap((g) => [g.uuid, ...g.migDevices.map((m) => m.uuid)]);
}

/** cuDeviceGetPCIBusId form of an NVML bus id (`0000:00:06.0`). */
export function cudaPciBusId(nvml: string): string {
  return nvml.slice(4);
}

/** A CUDA device of a preset GPU (whole GPU, MIG disabled). */
export function expectedCudaDevice(gpu: FakeGpu, ordinal: number): CudaDevice {
  return {
    ordinal,
    uuid: gpu.uuid,
    name: gpu.name,
    pciBusId: cudaPciBusId(gpu.pciBusId),
    totalMemoryBytes: gpu.cudaTotalMemoryBytes ?? gpu.memory!.totalBytes - gpu.memory!.reservedBytes,
    computeCapability: gpu.computeCapability,
  };
}

export const GPU_UUID = /^GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const MIG_UUID = /^MIG-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const NVML_PCI_BUS_ID = /^[0-9A-F]{8}:[0-9A-F]{2}:[0-9A-F]{2}\.[0-7]$/;
export const CUDA_PCI_BUS_ID = /^[0-9A-F]{4}:[0-9A-F]{2}:[0-9A-F]{2}\.[0-7]$/;

/** Resolves once `condition` holds, polling; rejects with `what` after `timeoutMs`. */
export async function waitFor<T>(
  attempt: () => Promise<T | undefined> | T | undefined,
  what: string,
  { timeoutMs = 5_000, intervalMs = 10 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

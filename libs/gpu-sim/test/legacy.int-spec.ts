import { execFileSync } from 'node:child_process';

import { beforeAll, describe, expect, it } from 'vitest';

import { ensureSimBuilt, simPaths, writeScenario } from '@app/gpu-sim';

import { pick, runDriver } from './driver.js';

beforeAll(() => {
  ensureSimBuilt();
});

const NEWER_NVML = [
  'nvmlDeviceGetMemoryInfo_v2',
  'nvmlDeviceGetCurrentClocksEventReasons',
  'nvmlDeviceGetComputeRunningProcesses_v3',
  'nvmlDeviceGetCount_v2',
  'nvmlDeviceGetHandleByIndex_v2',
  'nvmlSystemGetCudaDriverVersion_v2',
];
const NEWER_CUDA = ['cuDeviceGetUuid_v2'];

const NVML_API = [
  'nvmlInit_v2', 'nvmlInitWithFlags', 'nvmlShutdown', 'nvmlErrorString', 'nvmlSystemGetDriverVersion',
  'nvmlSystemGetNVMLVersion', 'nvmlSystemGetCudaDriverVersion', 'nvmlSystemGetCudaDriverVersion_v2',
  'nvmlDeviceGetCount', 'nvmlDeviceGetCount_v2', 'nvmlDeviceGetHandleByIndex', 'nvmlDeviceGetHandleByIndex_v2',
  'nvmlDeviceGetHandleByUUID', 'nvmlDeviceGetHandleByPciBusId_v2', 'nvmlDeviceGetIndex', 'nvmlDeviceGetUUID',
  'nvmlDeviceGetName', 'nvmlDeviceGetSerial', 'nvmlDeviceGetPciInfo_v3', 'nvmlDeviceGetMinorNumber',
  'nvmlDeviceGetCudaComputeCapability', 'nvmlDeviceGetArchitecture', 'nvmlDeviceGetMemoryInfo',
  'nvmlDeviceGetMemoryInfo_v2', 'nvmlDeviceGetTemperature', 'nvmlDeviceGetTemperatureThreshold',
  'nvmlDeviceGetPowerUsage', 'nvmlDeviceGetEnforcedPowerLimit', 'nvmlDeviceGetTotalEnergyConsumption',
  'nvmlDeviceGetUtilizationRates', 'nvmlDeviceGetPerformanceState', 'nvmlDeviceGetCurrentClocksEventReasons',
  'nvmlDeviceGetCurrentClocksThrottleReasons', 'nvmlDeviceGetClockInfo', 'nvmlDeviceGetFanSpeed',
  'nvmlDeviceGetNumFans', 'nvmlDeviceGetEccMode', 'nvmlDeviceGetTotalEccErrors', 'nvmlDeviceGetRemappedRows',
  'nvmlDeviceGetMigMode', 'nvmlDeviceGetMaxMigDeviceCount', 'nvmlDeviceGetMigDeviceHandleByIndex',
  'nvmlDeviceGetDeviceHandleFromMigDeviceHandle', 'nvmlDeviceIsMigDeviceHandle', 'nvmlDeviceGetGpuInstanceId',
  'nvmlDeviceGetComputeInstanceId', 'nvmlDeviceGetComputeRunningProcesses', 'nvmlDeviceGetComputeRunningProcesses_v2',
  'nvmlDeviceGetComputeRunningProcesses_v3', 'nvmlDeviceGetSupportedEventTypes', 'nvmlEventSetCreate',
  'nvmlDeviceRegisterEvents', 'nvmlEventSetWait_v2', 'nvmlEventSetFree', 'gpuSimDescribe',
];
const CUDA_API = [
  'cuInit', 'cuDriverGetVersion', 'cuDeviceGetCount', 'cuDeviceGet', 'cuDeviceGetName', 'cuDeviceGetUuid',
  'cuDeviceGetUuid_v2', 'cuDeviceGetPCIBusId', 'cuDeviceTotalMem_v2', 'cuDeviceGetAttribute',
  'cuDevicePrimaryCtxRetain', 'cuDevicePrimaryCtxRelease_v2', 'cuCtxSetCurrent', 'cuCtxGetCurrent',
  'cuCtxPushCurrent_v2', 'cuCtxPopCurrent_v2', 'cuCtxSynchronize', 'cuMemAlloc_v2', 'cuMemFree_v2', 'cuMemsetD8_v2',
  'cuMemcpyDtoH_v2', 'cuMemcpyHtoD_v2', 'cuGetErrorName', 'cuGetErrorString', 'gpuSimDescribe',
];

function exported(path: string): string[] {
  const out = execFileSync('nm', ['-D', '--defined-only', path], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[2])
    .filter((s): s is string => Boolean(s))
    .toSorted();
}

function soname(path: string): string | undefined {
  const out = execFileSync('readelf', ['-d', path], { encoding: 'utf8' });
  return /Library soname: \[([^\]]+)\]/.exec(out)?.[1];
}

describe('exported symbols', () => {
  it('the default libraries export exactly the API (hidden visibility for the rest)', () => {
    const paths = simPaths();
    expect(exported(paths.nvml)).toEqual(NVML_API.toSorted());
    expect(exported(paths.cuda)).toEqual(CUDA_API.toSorted());
    expect(soname(paths.nvml)).toBe('libnvidia-ml.so.1');
    expect(soname(paths.cuda)).toBe('libcuda.so.1');
  });

  it('the legacy variant lacks the newer symbols and keeps the older ones', () => {
    const paths = simPaths('legacy');
    expect(exported(paths.nvml)).toEqual(NVML_API.filter((s) => !NEWER_NVML.includes(s)).toSorted());
    expect(exported(paths.cuda)).toEqual(CUDA_API.filter((s) => !NEWER_CUDA.includes(s)).toSorted());
    expect(soname(paths.nvml)).toBe('libnvidia-ml.so.1');
  });

  it('a caller falls back to the older symbols on the legacy variant and gets the same answers', async () => {
    const scenarioPath = writeScenario({ preset: 'h200' });
    const cmds = ['init', 'count', 'cuda_version', 'clock_reasons', '0', 'procs', '0', 'memory', '0', 'memory_v2', '0',
      'sym', 'nvml', 'nvmlDeviceGetCount_v2', 'sym', 'cuda', 'cuDeviceGetUuid_v2', 'cu_init', 'cu_uuid', '0'];
    const legacy = await runDriver(cmds, { scenarioPath, variant: 'legacy' });
    const current = await runDriver(cmds, { scenarioPath });
    expect(pick(legacy, 'count')).toMatchObject({ rc: 0, value: 1, symbol: 'nvmlDeviceGetCount' });
    expect(pick(current, 'count')).toMatchObject({ rc: 0, value: 1, symbol: 'nvmlDeviceGetCount_v2' });
    expect(pick(legacy, 'cuda_version')).toMatchObject({ value: 13000, symbol: 'nvmlSystemGetCudaDriverVersion' });
    expect(pick(legacy, 'clock_reasons')).toMatchObject({ value: 1, symbol: 'nvmlDeviceGetCurrentClocksThrottleReasons' });
    expect(pick(legacy, 'procs')).toMatchObject({ rc: 0, symbol: 'nvmlDeviceGetComputeRunningProcesses_v2' });
    expect(pick(legacy, 'memory').value).toEqual(pick(current, 'memory').value);
    expect(pick(legacy, 'memory_v2').error).toBe('missing symbol nvmlDeviceGetMemoryInfo_v2');
    expect(pick(legacy, 'sym', 0).value).toBe(false);
    expect(pick(current, 'sym', 0).value).toBe(true);
    expect(pick(legacy, 'sym', 1).value).toBe(false);
    expect(pick(legacy, 'cu_uuid').value).toBe(pick(current, 'cu_uuid').value);
  });
});

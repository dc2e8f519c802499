// The contract suites against the koffi binding over the real driver (the gpu project: run on a
// machine with an NVIDIA GPU). No presets and no faults: only what holds on any real GPU, plus a
// comparison with what nvidia-smi reports. NVML_LIBRARY_PATH / CUDA_LIBRARY_PATH may name the
// libraries; by default the dynamic loader finds them.
import { execFileSync } from 'node:child_process';
import { ThreadedCudaClient } from '@app/cuda';
import { type NvmlDeviceIdentity, ThreadedNvmlClient } from '@app/nvml';
import { describe, expect, it } from 'vitest';
import { type CudaHarness, cudaContract } from '../contract/cuda.contract.js';
import { nvmlCallError } from '../contract/expectations.js';
import { type NvmlHarness, nvmlContract } from '../contract/nvml.contract.js';

const nvmlPath = process.env.NVML_LIBRARY_PATH ?? null;
const cudaPath = process.env.CUDA_LIBRARY_PATH ?? null;
const MiB = 1024 * 1024;

/** One GPU as `nvidia-smi --query-gpu` reports it (memory in MiB). */
interface SmiGpu {
  uuid: string;
  name: string;
  serial: string;
  pciBusId: string;
  memoryTotalMiB: number;
  memoryReservedMiB: number;
  computeCapability: string;
  driverVersion: string;
  fanSpeed: string;
}

const SMI_FIELDS = 'uuid,name,serial,pci.bus_id,memory.total,memory.reserved,compute_cap,driver_version,fan.speed';

function nvidiaSmi(): SmiGpu[] {
  const out = execFileSync('nvidia-smi', [`--query-gpu=${SMI_FIELDS}`, '--format=csv,noheader,nounits'], { encoding: 'utf8' });
  return out
    .trim()
    .split('\n')
    .map((line) => {
      const [uuid, name, serial, pciBusId, total, reserved, computeCapability, driverVersion, fanSpeed] = line.split(',').map((f) => f.trim());
      return {
        uuid: uuid!,
        name: name!,
        serial: serial!,
        pciBusId: pciBusId!,
        memoryTotalMiB: Number(total),
        memoryReservedMiB: Number(reserved),
        computeCapability: computeCapability!,
        driverVersion: driverVersion!,
        fanSpeed: fanSpeed!,
      };
    });
}

const smi = nvidiaSmi();

async function release(client: ThreadedNvmlClient): Promise<void> {
  for (let i = 0; i < 16; i++) await client.shutdown().catch(() => undefined);
  await client.close();
}

const noFaults = async (): Promise<never> => {
  throw new Error('the real driver takes no faults');
};

const nvmlHarness: NvmlHarness = {
  presets: false,
  faults: false,
  async create({ defaultTimeoutMs = 10_000 } = {}) {
    const client = new ThreadedNvmlClient({ libraryPath: nvmlPath, defaultTimeoutMs });
    return { client, emitXid: noFaults, failEventWait: noFaults, runningCalls: () => client.runningCalls(), dispose: () => release(client) };
  },
};

const cudaHarness: CudaHarness = {
  presets: false,
  faults: false,
  env: false,
  async create({ defaultTimeoutMs = 30_000 } = {}) {
    const client = new ThreadedCudaClient({ libraryPath: cudaPath, defaultTimeoutMs });
    const nvml = new ThreadedNvmlClient({ libraryPath: nvmlPath, defaultTimeoutMs });
    await nvml.init();
    return { client, nvml, dispose: async () => void (await Promise.all([client.close(), release(nvml)])) };
  },
};

/** Runs `use` with an initialised client, then releases it. */
async function withClient<T>(use: (client: ThreadedNvmlClient) => Promise<T>): Promise<T> {
  const client = new ThreadedNvmlClient({ libraryPath: nvmlPath, defaultTimeoutMs: 10_000 });
  try {
    await client.init();
    return await use(client);
  } finally {
    await release(client);
  }
}

describe('ThreadedNvmlClient over the real driver', () => {
  nvmlContract(nvmlHarness);
});

describe('ThreadedCudaClient over the real driver', () => {
  cudaContract(cudaHarness);
});

describe('the real driver as nvidia-smi sees it', () => {
  it('lists the GPUs nvidia-smi lists, with the same identities', async () => {
    const devices = (await withClient((c) => c.listDevices())) as NvmlDeviceIdentity[];
    expect(devices.map((d) => ({ uuid: d.uuid, name: d.name, serial: d.serial, pciBusId: d.pciBusId, cc: `${d.computeCapability?.major}.${d.computeCapability?.minor}` }))).toEqual(
      smi.map((g) => ({ uuid: g.uuid, name: g.name, serial: g.serial, pciBusId: g.pciBusId, cc: g.computeCapability })),
    );
  });

  it('reports total and reserved memory within 1 MiB of nvidia-smi (v2 accounting)', async () => {
    const samples = await withClient((c) => Promise.all(smi.map((g) => c.sampleDevice(g.uuid))));
    samples.forEach((s, i) => {
      expect(Math.abs(s.readings.memoryTotalBytes! / MiB - smi[i]!.memoryTotalMiB)).toBeLessThanOrEqual(1);
      expect(Math.abs(s.readings.memoryReservedBytes! / MiB - smi[i]!.memoryReservedMiB)).toBeLessThanOrEqual(1);
    });
    expect(samples.map((s) => s.uuid)).toEqual(smi.map((g) => g.uuid));
  });

  it('reports the driver version nvidia-smi reports', async () => {
    const info = await withClient((c) => c.getSystemInfo());
    expect(info.driverVersion).toBe(smi[0]!.driverVersion);
  });

  it('gives a fan nvidia-smi shows as N/A a null speed with NOT_SUPPORTED (3)', async () => {
    const fanless = smi.filter((g) => g.fanSpeed.includes('N/A'));
    const samples = await withClient((c) => Promise.all(fanless.map((g) => c.sampleDevice(g.uuid))));
    expect(samples.map((s) => [s.readings.fanSpeedPercent, s.errors.fanSpeedPercent])).toEqual(
      fanless.map(() => [null, nvmlCallError(3, 'nvmlDeviceGetFanSpeed')]),
    );
  });

  it.skipIf(!smi.some((g) => g.name === 'NVIDIA H200'))('the H200 has no fan: fan speed null with NOT_SUPPORTED (3), message "Not Supported"', async () => {
    const h200 = smi.find((g) => g.name === 'NVIDIA H200')!;
    const sample = await withClient((c) => c.sampleDevice(h200.uuid));
    expect(sample.readings.fanSpeedPercent).toBeNull();
    expect(sample.errors.fanSpeedPercent).toEqual({ code: 3, name: 'NVML_ERROR_NOT_SUPPORTED', fn: 'nvmlDeviceGetFanSpeed', message: 'Not Supported' });
  });
});

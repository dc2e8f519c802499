// The contract suites against the TypeScript fakes.
import { FakeCudaClient } from '@app/cuda/testing';
import { FakeNvmlClient, type NvmlPresetName } from '@app/nvml/testing';
import { describe } from 'vitest';
import { type CudaFault, type CudaHarness, cudaContract } from './cuda.contract.js';
import { type NvmlFault, type NvmlHarness, nvmlContract } from './nvml.contract.js';

function applyNvml(fake: FakeNvmlClient, fault: NvmlFault): void {
  switch (fault.kind) {
    case 'fail':
      return fake.failCall(fault.fn, fault.code, { uuid: fault.uuid, times: fault.times });
    case 'hang':
      fake.hangCall(fault.fn, { uuid: fault.uuid, delayMs: fault.ms, times: fault.times });
      return;
    case 'lost':
      return fake.loseGpu(fault.uuid);
  }
}

function applyCuda(fake: FakeCudaClient, fault: CudaFault): void {
  switch (fault.kind) {
    case 'fail':
      return fake.failCall(fault.fn, fault.code, { gpuUuid: fault.gpuUuid });
    case 'noDevice':
      return fake.noDevice();
    case 'allocFailure':
      return fake.failAllocation({ gpuUuid: fault.gpuUuid });
    case 'corruptCopy':
      return fake.corruptCopy({ gpuUuid: fault.gpuUuid, offset: fault.offset });
    case 'hang':
      fake.hangCall(fault.fn, { gpuUuid: fault.gpuUuid, delayMs: fault.ms, times: fault.times });
      return;
  }
}

/** Ends every reference a test may have left, then closes. */
async function release(client: FakeNvmlClient): Promise<void> {
  for (let i = 0; i < 16; i++) await client.shutdown().catch(() => undefined);
  await client.close();
}

const nvmlHarness: NvmlHarness = {
  presets: true,
  faults: true,
  async create({ preset = 'h200', faults = [], defaultTimeoutMs = 5_000 } = {}) {
    const client = new FakeNvmlClient({ preset, defaultTimeoutMs });
    for (const fault of faults) applyNvml(client, fault);
    return {
      client,
      emitXid: async (uuid, xid) => client.emitXid(uuid, xid),
      failEventWait: async (code) => client.failCall('nvmlEventSetWait_v2', code),
      runningCalls: () => client.runningCalls(),
      dispose: () => release(client),
    };
  },
};

const cudaHarness: CudaHarness = {
  presets: true,
  faults: true,
  env: false,
  async create({ preset = 'h200' as NvmlPresetName, faults = [], defaultTimeoutMs = 5_000 } = {}) {
    const client = new FakeCudaClient({ preset, defaultTimeoutMs });
    for (const fault of faults) applyCuda(client, fault);
    const nvml = new FakeNvmlClient({ preset });
    await nvml.init();
    return { client, nvml, dispose: async () => Promise.all([client.close(), release(nvml)]).then(() => undefined) };
  },
};

describe('FakeNvmlClient', () => {
  nvmlContract(nvmlHarness);
});
describe('FakeCudaClient', () => {
  cudaContract(cudaHarness);
});

// The contract suites against the koffi binding (ThreadedNvmlClient / ThreadedCudaClient) over the
// native simulator. The libraries are loaded once per process; each subject gets its own scenario
// file, named in GPU_SIM_SCENARIO before its first nvmlInit_v2 / cuInit, which the simulator
// switches to at that initialisation (NVML's reference count must be back at 0 by then, so every
// subject releases all its references). Faults that must arrive while a client runs (XID events,
// a failing event wait) are written into the running scenario, which the simulator reloads.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ThreadedCudaClient } from '@app/cuda';
import { type SimCudaFault, type SimFault, type SimScenario, ensureSimBuilt, simPaths, updateScenario, writeScenario } from '@app/gpu-sim';
import { ThreadedNvmlClient } from '@app/nvml';
import { afterAll, beforeAll, describe } from 'vitest';
import { type CudaFault, type CudaHarness, cudaContract } from './cuda.contract.js';
import { type NvmlFault, type NvmlHarness, nvmlContract } from './nvml.contract.js';

let dir: string;
beforeAll(() => {
  ensureSimBuilt();
  dir = mkdtempSync(join(tmpdir(), 'native-contract-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function simFault(fault: NvmlFault): SimFault {
  switch (fault.kind) {
    case 'fail':
      return { function: fault.fn, gpu: fault.uuid, returnCode: fault.code, calls: fault.times };
    case 'hang':
      return { function: fault.fn, gpu: fault.uuid, delayMs: fault.ms, calls: fault.times };
    case 'lost':
      return { function: '*', gpu: fault.uuid, returnCode: 15 };
  }
}

function simCudaFault(fault: CudaFault): SimCudaFault {
  switch (fault.kind) {
    case 'fail':
      return { function: fault.fn, gpu: fault.gpuUuid, returnCode: fault.code };
    case 'noDevice':
      return { function: 'cuInit', returnCode: 100 };
    case 'allocFailure':
      return { function: 'cuMemAlloc_v2', gpu: fault.gpuUuid, returnCode: 2 };
    case 'corruptCopy':
      return { function: 'cuMemcpyDtoH_v2', gpu: fault.gpuUuid, corruptCopy: true, corruptOffset: fault.offset ?? 0 };
    case 'hang':
      return { function: fault.fn, gpu: fault.gpuUuid, delayMs: fault.ms, calls: fault.times };
  }
}

/** Writes a fresh scenario file and makes it the one the next initialisation switches to. */
function useScenario(scenario: SimScenario): string {
  const path = writeScenario(scenario, dir);
  process.env.GPU_SIM_SCENARIO = path;
  return path;
}

/** Ends every reference a test may have left (the next subject's init must find NVML at 0). */
async function release(client: ThreadedNvmlClient): Promise<void> {
  for (let i = 0; i < 16; i++) await client.shutdown().catch(() => undefined);
  await client.close();
}

const nvmlHarness: NvmlHarness = {
  presets: true,
  faults: true,
  async create({ preset = 'h200', faults = [], defaultTimeoutMs = 5_000 } = {}) {
    const scenario: SimScenario = { preset, faults: faults.map(simFault), xidEvents: [] };
    const path = useScenario(scenario);
    const client = new ThreadedNvmlClient({ libraryPath: simPaths().nvml, defaultTimeoutMs, eventWaitMs: 100 });
    return {
      client,
      async emitXid(uuid, xid) {
        scenario.xidEvents!.push({ gpu: uuid, xid, atEpochMs: Date.now() });
        updateScenario(path, scenario);
      },
      async failEventWait(code) {
        scenario.faults!.push({ function: 'nvmlEventSetWait_v2', returnCode: code });
        updateScenario(path, scenario);
      },
      runningCalls: () => client.runningCalls(),
      dispose: () => release(client),
    };
  },
};

const CUDA_ENV = ['CUDA_VISIBLE_DEVICES', 'CUDA_DEVICE_ORDER'] as const;

const cudaHarness: CudaHarness = {
  presets: true,
  faults: true,
  env: true,
  async create({ preset = 'h200', faults = [], env = {}, defaultTimeoutMs = 5_000 } = {}) {
    useScenario({ preset, cudaFaults: faults.map(simCudaFault) });
    for (const name of CUDA_ENV) {
      if (env[name] === undefined) delete process.env[name];
      else process.env[name] = env[name];
    }
    const client = new ThreadedCudaClient({ libraryPath: simPaths().cuda, defaultTimeoutMs });
    const nvml = new ThreadedNvmlClient({ libraryPath: simPaths().nvml, defaultTimeoutMs });
    await nvml.init();
    return {
      client,
      nvml,
      async dispose() {
        for (const name of CUDA_ENV) delete process.env[name];
        await Promise.all([client.close(), release(nvml)]);
      },
    };
  },
};

describe('ThreadedNvmlClient over the simulator', () => {
  nvmlContract(nvmlHarness);
});
describe('ThreadedCudaClient over the simulator', () => {
  cudaContract(cudaHarness);
});

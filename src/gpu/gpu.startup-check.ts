import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import {
  CudaClient,
  CudaError,
  type CudaInventory,
  CudaLibraryLoadError,
  type CudaSmokeTestResult,
  CudaTimeoutError,
  CudaVerificationError,
} from '@app/cuda';
import {
  NvmlClient,
  type NvmlDeviceIdentity,
  type NvmlDeviceSample,
  NvmlError,
  NvmlLibraryLoadError,
  NvmlReturn,
  NvmlTimeoutError,
} from '@app/nvml';
import { gpuConfig } from '../config/config.namespaces.js';
import type { GpuInventory, InventoryGpu } from './gpu.inventory.js';
import { GpuMonitor } from './gpu.monitor.js';
import { detectFindings, GPU_POLICY } from './gpu.policy.js';
import { selectGpus } from './gpu.selection.js';
import { libraryNotFound, type StartupProblem, StartupRefusedError } from './gpu.startup.js';

const SMOKE_TEST_BYTES = 1024 * 1024;
const MIB = 1024 * 1024;

/**
 * The fail-fast GPU check, run once on `OnApplicationBootstrap` before the server listens:
 * load and initialise NVML, enumerate, resolve the device selectors, check every requirement
 * (all unmet ones reported together), then prove each selected GPU with a CUDA smoke test.
 * Any failure throws StartupRefusedError, which main.ts turns into one fatal line and an exit
 * code. On success it logs one summary line and hands the GPUs to GpuMonitor.
 */
@Injectable()
export class GpuStartupCheck implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('GpuStartupCheck');
  private passedAt: Date | null = null;

  constructor(
    private readonly nvml: NvmlClient,
    private readonly cuda: CudaClient,
    private readonly monitor: GpuMonitor,
    @Inject(gpuConfig.KEY) private readonly config: ConfigType<typeof gpuConfig>,
  ) {}

  /** When the check passed; null before. */
  get passed(): Date | null {
    return this.passedAt;
  }

  async onApplicationBootstrap(): Promise<void> {
    const inventory = await this.check();
    this.passedAt = new Date();
    await this.monitor.start();
    this.logSummary(inventory);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.monitor.stop();
    await Promise.all([this.nvml.close(), this.cuda.close()]);
  }

  private async check(): Promise<GpuInventory> {
    const started = performance.now();
    const timeoutMs = this.config.startupTimeoutMs;

    // cuInit (a few hundred ms on a real GPU) runs while NVML initialises and enumerates.
    const needCuda = this.config.cudaVisibleDevices !== null || this.config.cudaSmokeTest;
    let cudaInitMs: number | null = null;
    const cudaPending = needCuda
      ? this.cudaInventory().then((inventory) => {
          cudaInitMs = performance.now() - started;
          return inventory;
        })
      : Promise.resolve(null);
    // An NVML refusal does not wait for it (the process exits at once).
    cudaPending.catch(() => undefined);

    const library = await this.step(() => this.nvml.init({ timeoutMs }));
    const nvmlInitMs = performance.now() - started;
    // From here on the monitor owns the initialised NVML and shuts it down on exit.
    this.monitor.nvmlInitialized();

    const enumerateStarted = performance.now();
    const system = await this.step(() => this.nvml.getSystemInfo({ timeoutMs }));
    const listed = await this.step(() => this.nvml.listDevices({ timeoutMs }));
    const identities = listed.filter((d): d is NvmlDeviceIdentity => 'uuid' in d);
    const problems: StartupProblem[] = listed
      .filter((d) => !('uuid' in d))
      .map((d) => ({
        reason: 'gpu_unhealthy' as const,
        detail: `GPU ${d.index} cannot be read: ${'failure' in d ? `${d.failure.fn}: ${d.failure.name} (${d.failure.code})` : ''}`,
        ...('failure' in d && { code: d.failure.code, codeName: d.failure.name, fn: d.failure.fn }),
      }));
    const enumerateMs = performance.now() - enumerateStarted;

    if (listed.length === 0) {
      const none = this.config.nvidiaVisibleDevices?.trim() === 'none';
      this.refuse([
        {
          reason: 'no_gpu_visible',
          detail: none
            ? 'NVML sees no GPU: NVIDIA_VISIBLE_DEVICES=none gives this container the driver but no device'
            : 'NVML initialised but sees no GPU',
        },
      ]);
    }

    // CUDA resolves CUDA_VISIBLE_DEVICES and runs the smoke test.
    const cuda: CudaInventory | null = await cudaPending;

    const selection = selectGpus(identities, cuda, this.config);
    if (selection.problems.length > 0) this.refuse(selection.problems);

    // A first sample of each selected GPU: health at start-up and the ECC baseline.
    const samples = new Map<string, NvmlDeviceSample>();
    await Promise.all(
      selection.gpus.map(async ({ identity }) => {
        try {
          samples.set(identity.uuid, await this.nvml.sampleDevice(identity.uuid, { timeoutMs }));
        } catch (error) {
          problems.push(this.problemFromError(error, identity));
        }
      }),
    );
    problems.push(...this.requirements(selection.gpus, samples));
    if (problems.length > 0) this.refuse(sortProblems(problems));

    let smokeTestMs: number | null = null;
    const smokeTests = new Map<string, CudaSmokeTestResult>();
    if (this.config.cudaSmokeTest) {
      const smokeStarted = performance.now();
      await this.smokeTests(selection.gpus, smokeTests);
      smokeTestMs = performance.now() - smokeStarted;
    }

    const inventory: GpuInventory = {
      library,
      system,
      cudaDriverVersion: cuda?.driverVersion ?? null,
      gpus: selection.gpus.map((g) => ({ ...g, smokeTest: smokeTests.get(g.identity.uuid) ?? null })),
      notSelected: selection.notSelected,
      checkedAt: new Date().toISOString(),
      timings: { nvmlInitMs, enumerateMs, cudaInitMs, smokeTestMs, totalMs: performance.now() - started },
    };
    this.monitor.adopt(inventory, samples);
    return inventory;
  }

  /** Unmet requirements (count, memory, compute capability, health), all of them. */
  private requirements(gpus: ReadonlyArray<Omit<InventoryGpu, 'smokeTest'>>, samples: ReadonlyMap<string, NvmlDeviceSample>): StartupProblem[] {
    const problems: StartupProblem[] = [];
    let usable = 0;
    for (const { identity, selectedMigUuids } of gpus) {
      const gpu = { index: identity.index, uuid: identity.uuid, name: identity.name };
      const sample = samples.get(identity.uuid);
      if (!sample) continue;
      const failing = detectFindings(sample, null, { minFreeMemoryBytes: 0 }).filter((f) => GPU_POLICY[f.reason].startup === 'fail');
      for (const f of failing) {
        problems.push({ reason: 'gpu_unhealthy', gpu, detail: `GPU ${identity.index} (${identity.uuid}) is unhealthy: ${f.detail}`, code: f.nvmlCode, codeName: f.nvmlName, fn: f.fn });
      }
      if (failing.length === 0) usable++;

      const memory = memoryOf(identity, selectedMigUuids);
      if (memory === null) {
        if (this.config.requireMemoryInfo) {
          problems.push({ reason: 'gpu_memory_unknown', gpu, detail: `GPU ${identity.index} (${identity.name}) does not report its memory` });
        } else {
          this.logger.log({
            msg: `GPU ${identity.index} (${identity.name}, ${identity.uuid}) does not report its memory (unified memory); the GPU_MIN_MEMORY_GIB requirement is skipped for it`,
            gpu,
          });
        }
      } else if (memory < this.config.minMemoryBytes) {
        problems.push({
          reason: 'insufficient_gpu_memory',
          gpu,
          detail: `GPU ${identity.index} (${identity.name}) has ${Math.floor(memory / MIB)} MiB, GPU_MIN_MEMORY_GIB requires ${Math.ceil(this.config.minMemoryBytes / MIB)} MiB`,
        });
      }

      const min = this.config.minComputeCapability;
      const cc = identity.computeCapability;
      if (min && (!cc || cc.major < min.major || (cc.major === min.major && cc.minor < min.minor))) {
        problems.push({
          reason: 'insufficient_compute_capability',
          gpu,
          detail: `GPU ${identity.index} (${identity.name}) has compute capability ${cc ? `${cc.major}.${cc.minor}` : 'unknown'}, GPU_MIN_COMPUTE_CAPABILITY requires ${min.major}.${min.minor}`,
        });
      }
    }
    if (usable < this.config.minCount) {
      problems.push({
        reason: 'insufficient_gpu_count',
        detail: `${usable} usable GPU(s), GPU_MIN_COUNT requires ${this.config.minCount}`,
      });
    }
    return problems;
  }

  private async smokeTests(gpus: ReadonlyArray<Omit<InventoryGpu, 'smokeTest'>>, results: Map<string, CudaSmokeTestResult>): Promise<void> {
    const problems: StartupProblem[] = [];
    await Promise.all(
      gpus.map(async ({ identity, cudaOrdinal }) => {
        const gpu = { index: identity.index, uuid: identity.uuid, name: identity.name };
        if (cudaOrdinal === null) {
          problems.push({ reason: 'cuda_smoke_test_failed', gpu, detail: `GPU ${identity.index} (${identity.uuid}) is not visible to CUDA` });
          return;
        }
        try {
          results.set(identity.uuid, await this.cuda.smokeTest(cudaOrdinal, SMOKE_TEST_BYTES, { timeoutMs: this.config.startupTimeoutMs }));
        } catch (error) {
          problems.push(this.problemFromError(error, identity));
        }
      }),
    );
    if (problems.length > 0) this.refuse(problems);
  }

  private async cudaInventory(): Promise<CudaInventory | null> {
    try {
      return await this.cuda.inventory({ timeoutMs: this.config.startupTimeoutMs });
    } catch (error) {
      if (error instanceof CudaError && error.code === 100 && this.config.cudaVisibleDevices !== null) {
        // No device matched CUDA_VISIBLE_DEVICES; selectGpus names the entry.
        return { driverVersion: '', devices: [] };
      }
      this.refuse([this.problemFromError(error, null)]);
    }
  }

  /** Runs a start-up NVML step; its failure refuses start-up. */
  private async step<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      this.refuse([this.problemFromError(error, null)]);
    }
  }

  private problemFromError(error: unknown, identity: NvmlDeviceIdentity | null): StartupProblem {
    const gpu = identity ? { index: identity.index, uuid: identity.uuid, name: identity.name } : undefined;
    const on = identity ? `GPU ${identity.index} (${identity.uuid}): ` : '';
    if (error instanceof NvmlLibraryLoadError) return libraryNotFound(error.attempts);
    if (error instanceof NvmlTimeoutError) {
      return { reason: 'startup_timeout', gpu, detail: `${on}${error.message}`, fn: error.fn ?? undefined };
    }
    if (error instanceof NvmlError) {
      const reason =
        error.code === NvmlReturn.DRIVER_NOT_LOADED
          ? 'nvml_driver_not_loaded'
          : error.code === NvmlReturn.LIB_RM_VERSION_MISMATCH
            ? 'nvml_version_mismatch'
            : identity
              ? 'gpu_unhealthy'
              : 'nvml_init_failed';
      return { reason, gpu, detail: `${on}${error.fn} returned ${error.symbol} (${error.code}): ${error.text}`, code: error.code, codeName: error.symbol, fn: error.fn };
    }
    if (error instanceof CudaLibraryLoadError) {
      return { reason: 'cuda_library_not_found', detail: `libcuda.so.1 cannot be loaded; tried ${error.attempts.map((a) => `${a.path} (${a.error})`).join(', ')}` };
    }
    if (error instanceof CudaTimeoutError) return { reason: 'startup_timeout', gpu, detail: `${on}${error.message}` };
    if (error instanceof CudaError) {
      return { reason: 'cuda_smoke_test_failed', gpu, detail: `${on}${error.fn} returned ${error.symbol} (${error.code}): ${error.text}`, code: error.code, codeName: error.symbol, fn: error.fn };
    }
    if (error instanceof CudaVerificationError) return { reason: 'cuda_smoke_test_failed', gpu, detail: `${on}${error.message}`, codeName: error.symbol };
    throw error;
  }

  private refuse(problems: StartupProblem[]): never {
    throw new StartupRefusedError(problems);
  }

  private logSummary(inventory: GpuInventory): void {
    const { system, library, timings } = inventory;
    const gpus = inventory.gpus.map(({ identity, smokeTest, selectedMigUuids }) => ({
      index: identity.index,
      uuid: identity.uuid,
      name: identity.name,
      memoryTotalMiB: identity.memoryTotalBytes === null ? null : Math.floor(identity.memoryTotalBytes / MIB),
      ...(selectedMigUuids && { migDevices: selectedMigUuids }),
      smokeTestMs: smokeTest ? Math.round(smokeTest.totalMs) : null,
    }));
    const smoke = timings.smokeTestMs === null ? 'CUDA smoke test disabled' : `CUDA smoke test passed in ${Math.round(timings.smokeTestMs)} ms`;
    this.logger.log({
      msg: `GPU check passed in ${Math.round(timings.totalMs)} ms: driver ${system.driverVersion}, NVML ${system.nvmlVersion}, CUDA ${system.cudaDriverVersion ?? 'n/a'}; ${gpus.length} GPU(s): ${gpus.map((g) => `[${g.index}] ${g.name} ${g.uuid} ${g.memoryTotalMiB ?? '?'} MiB`).join(', ')}; ${smoke}${library.simulator ? `; SIMULATED GPUs (preset ${library.simulator.preset ?? 'custom'})` : ''}`,
      driverVersion: system.driverVersion,
      nvmlVersion: system.nvmlVersion,
      cudaVersion: system.cudaDriverVersion,
      gpus,
      timings: Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, v === null ? null : Math.round(v * 10) / 10])),
      simulated: library.simulator !== null,
    });
  }
}

/** Memory usable by the service: the selected MIG slices when MIG devices were chosen. */
function memoryOf(identity: NvmlDeviceIdentity, selectedMigUuids: string[] | null): number | null {
  if (!selectedMigUuids) return identity.memoryTotalBytes;
  const slices = identity.migDevices.filter((m) => selectedMigUuids.includes(m.uuid));
  if (slices.some((m) => m.memoryTotalBytes === null)) return null;
  return Math.min(...slices.map((m) => m.memoryTotalBytes!));
}

/** Health problems first: they explain count problems that follow from them. */
function sortProblems(problems: StartupProblem[]): StartupProblem[] {
  const order = ['startup_timeout', 'gpu_unhealthy'];
  return problems.toSorted((a, b) => {
    const ia = order.indexOf(a.reason);
    const ib = order.indexOf(b.reason);
    return (ia < 0 ? order.length : ia) - (ib < 0 ? order.length : ib);
  });
}

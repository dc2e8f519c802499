import { type CallTrace, DeadlineCalls, Hang, type NvmlPreset, type NvmlPresetName, nvmlPreset } from '@app/nvml/testing';
import { type CudaCallOptions, CudaClient } from '../cuda.client.js';
import { CudaError, CudaTimeoutError, CudaVerificationError } from '../cuda.errors.js';
import type { CudaDevice, CudaInventory, CudaLibraryInfo, CudaSmokeTestResult } from '../cuda.types.js';

/** Settings of a FakeCudaClient. */
export interface FakeCudaClientOptions {
  /** The machine, as an NVML preset name or object (MIG-enabled GPUs contribute their MIG devices). */
  preset: NvmlPresetName | NvmlPreset;
  /** Deadline of a call when the caller gives none, ms (default 5000). */
  defaultTimeoutMs?: number;
}

/** A device as the fake CUDA driver enumerates it. */
export interface FakeCudaDevice extends Omit<CudaDevice, 'ordinal'> {
  /** UUID of the physical GPU (the parent of a MIG device); faults are scoped by it. */
  gpuUuid: string;
  multiprocessorCount: number;
  /** Bytes in use by others, so allocations fail past `totalMemoryBytes - usedBytes`. */
  usedBytes: number;
}

/** Counters for assertions on call discipline. */
export interface FakeCudaCounters {
  calls: Record<string, number>;
  maxInFlight: number;
}

/** The driver API functions the binding calls (the versioned symbols it binds). */
export const CUDA_FUNCTIONS = [
  'cuInit',
  'cuDriverGetVersion',
  'cuDeviceGetCount',
  'cuDeviceGet',
  'cuDeviceGetName',
  'cuDeviceGetUuid_v2',
  'cuDeviceGetUuid',
  'cuDeviceGetPCIBusId',
  'cuDeviceTotalMem_v2',
  'cuDeviceGetAttribute',
  'cuDevicePrimaryCtxRetain',
  'cuDevicePrimaryCtxRelease_v2',
  'cuCtxPushCurrent_v2',
  'cuCtxPopCurrent_v2',
  'cuMemAlloc_v2',
  'cuMemFree_v2',
  'cuMemsetD8_v2',
  'cuMemcpyDtoH_v2',
] as const;

interface Fault {
  fn: string;
  gpuUuid: string | null;
  code: number | null;
  hang: Hang | null;
  corruptOffset: number | null;
  /** Calls it still applies to; null: until cleared. */
  remaining?: number | null;
}

const CUDA_ERROR_OUT_OF_MEMORY = 2;
const CUDA_ERROR_NOT_INITIALIZED = 3;
const CUDA_ERROR_NO_DEVICE = 100;
const CUDA_ERROR_INVALID_DEVICE = 101;
const SMOKE_PATTERN = 0xa5;

type Call = (fn: string, natural?: number) => Promise<number>;

/** Byte a corrupting fault flipped in the last copy made through a call function. */
const copies = new WeakMap<Call, number>();

/**
 * CudaClient over the GPUs of an NVML preset, enumerated as CUDA does by default (MIG-enabled
 * GPUs contribute their MIG devices; fastest first: most SMs, then PCI order). Same call
 * discipline as the threaded client: deadline per call (CudaTimeoutError), single flight per
 * key (`cuInit`, `smoke test of CUDA device N`), a stuck key refuses calls at once.
 * Faults: return codes per function and GPU, no device, allocation failure, corrupted copy, hangs.
 * CUDA_VISIBLE_DEVICES is not modelled (the native simulator covers it).
 */
export class FakeCudaClient extends CudaClient {
  readonly devices: FakeCudaDevice[];
  private readonly name: string;
  private readonly defaultTimeoutMs: number;
  private readonly calls = new DeadlineCalls((key, _trace, timeoutMs) => new CudaTimeoutError(key, timeoutMs));
  private faults: Fault[] = [];
  private readonly counts = new Map<string, number>();
  private initialized = false;
  private info: CudaLibraryInfo | null = null;
  private closed = false;

  constructor(options: FakeCudaClientOptions) {
    super();
    const preset = typeof options.preset === 'string' ? nvmlPreset(options.preset) : options.preset;
    this.name = preset.name;
    this.devices = cudaDevices(preset);
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 5_000;
  }

  override inventory(options?: CudaCallOptions): Promise<CudaInventory> {
    return this.operation('cuInit', options, async (call) => {
      await this.init(call(null));
      await check(call(null), 'cuDriverGetVersion');
      await check(call(null), 'cuDeviceGetCount');
      const devices: CudaDevice[] = [];
      for (const [ordinal, d] of this.devices.entries()) {
        const c = call(d);
        await check(c, 'cuDeviceGet');
        await check(c, 'cuDeviceGetUuid_v2');
        await c('cuDeviceGetUuid');
        await check(c, 'cuDeviceGetName');
        const pciBusId = (await c('cuDeviceGetPCIBusId')) === 0 ? d.pciBusId : null;
        const totalMemoryBytes = (await c('cuDeviceTotalMem_v2')) === 0 ? d.totalMemoryBytes : null;
        const capability = (await c('cuDeviceGetAttribute')) === 0 && (await c('cuDeviceGetAttribute')) === 0;
        devices.push({
          ordinal,
          uuid: d.uuid,
          name: d.name,
          pciBusId,
          totalMemoryBytes,
          computeCapability: capability && d.computeCapability ? { ...d.computeCapability } : null,
        });
      }
      return { driverVersion: '13.0', devices };
    });
  }

  override smokeTest(ordinal: number, bytes: number, options?: CudaCallOptions): Promise<CudaSmokeTestResult> {
    return this.operation(`smoke test of CUDA device ${ordinal}`, options, async (call) => {
      const started = performance.now();
      await this.init(call(null));
      const d = this.devices[ordinal];
      await check(call(d ?? null), 'cuDeviceGet', d ? 0 : CUDA_ERROR_INVALID_DEVICE);
      const c = call(d!);
      await check(c, 'cuDeviceGetUuid_v2');
      await c('cuDeviceGetUuid');
      await check(c, 'cuDevicePrimaryCtxRetain');
      try {
        await check(c, 'cuCtxPushCurrent_v2');
        try {
          const contextMs = performance.now() - started;
          const memoryStarted = performance.now();
          await check(c, 'cuMemAlloc_v2', bytes > d!.totalMemoryBytes! - d!.usedBytes ? CUDA_ERROR_OUT_OF_MEMORY : 0);
          try {
            await check(c, 'cuMemsetD8_v2');
            await check(c, 'cuMemcpyDtoH_v2');
            const corrupt = copies.get(c) ?? null;
            if (corrupt !== null && bytes > 0) {
              // One byte flipped in the copy, as the simulator does.
              throw new CudaVerificationError(ordinal, Math.min(corrupt, bytes - 1), SMOKE_PATTERN, SMOKE_PATTERN ^ 0xff);
            }
          } finally {
            await c('cuMemFree_v2');
          }
          return { ordinal, uuid: d!.uuid, bytes, contextMs, memoryMs: performance.now() - memoryStarted, totalMs: performance.now() - started };
        } finally {
          await c('cuCtxPopCurrent_v2');
        }
      } finally {
        await c('cuDevicePrimaryCtxRelease_v2');
      }
    });
  }

  override libraryInfo(): CudaLibraryInfo | null {
    return this.info;
  }

  override async close(): Promise<void> {
    this.closed = true;
  }

  // ---- test controls --------------------------------------------------------------------------

  /** Makes driver function `fn` return `code`, for the devices of one GPU or for all. */
  failCall(fn: string, code: number, options: { gpuUuid?: string } = {}): void {
    this.addFault({ fn, gpuUuid: this.gpuScope(options.gpuUuid), code, hang: null, corruptOffset: null });
  }

  /** `cuInit` answers CUDA_ERROR_NO_DEVICE, as on a machine whose GPUs are not visible. */
  noDevice(): void {
    this.failCall('cuInit', CUDA_ERROR_NO_DEVICE);
  }

  /** `cuMemAlloc_v2` answers CUDA_ERROR_OUT_OF_MEMORY. */
  failAllocation(options: { gpuUuid?: string } = {}): void {
    this.failCall('cuMemAlloc_v2', CUDA_ERROR_OUT_OF_MEMORY, options);
  }

  /** `cuMemcpyDtoH_v2` succeeds but flips the byte at `offset` (clamped to the copy). */
  corruptCopy(options: { gpuUuid?: string; offset?: number } = {}): void {
    this.addFault({ fn: 'cuMemcpyDtoH_v2', gpuUuid: this.gpuScope(options.gpuUuid), code: null, hang: null, corruptOffset: options.offset ?? 0 });
  }

  /** Makes driver function `fn` block until the returned hang is released (or `delayMs` per call), for `times` calls or until cleared. */
  hangCall(fn: string, options: { gpuUuid?: string; delayMs?: number; hang?: Hang; times?: number } = {}): Hang {
    const hang = options.hang ?? new Hang(options.delayMs);
    this.addFault({ fn, gpuUuid: this.gpuScope(options.gpuUuid), code: null, hang, corruptOffset: null, remaining: options.times ?? null });
    return hang;
  }

  clearFaults(): void {
    this.faults = [];
  }

  counters(): FakeCudaCounters {
    return { calls: Object.fromEntries(this.counts), maxInFlight: this.calls.maxInFlight() };
  }

  runningCalls(): string[] {
    return this.calls.keys();
  }

  // ---- the fake driver ------------------------------------------------------------------------

  private operation<T>(key: string, options: CudaCallOptions | undefined, work: (call: (device: FakeCudaDevice | null) => Call) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('cuda: pool is closed'));
    return this.calls.run(key, options?.timeoutMs ?? this.defaultTimeoutMs, async (trace) => {
      const value = await work((device) => this.driver(trace, device?.gpuUuid ?? null));
      this.info = { path: `fake:${this.name}`, simulated: true };
      return value;
    });
  }

  private async init(call: Call): Promise<void> {
    await check(call, 'cuInit', this.devices.length === 0 ? CUDA_ERROR_NO_DEVICE : 0);
    this.initialized = true;
  }

  private driver(trace: CallTrace, gpuUuid: string | null): Call {
    const call: Call = async (fn, natural = 0) => {
      this.counts.set(fn, (this.counts.get(fn) ?? 0) + 1);
      if (!this.initialized && fn !== 'cuInit' && fn !== 'cuDriverGetVersion') return CUDA_ERROR_NOT_INITIALIZED;
      const fault = this.fault(fn, gpuUuid);
      if (fault && fault.corruptOffset !== null) copies.set(call, fault.corruptOffset);
      if (fault?.hang) {
        trace.blockedIn = fn;
        await fault.hang.hold();
        trace.blockedIn = null;
      }
      return fault?.code ?? natural;
    };
    return call;
  }

  private fault(fn: string, gpuUuid: string | null): Fault | undefined {
    const fault = this.faults.find((f) => f.fn === fn && (f.gpuUuid === null || f.gpuUuid === gpuUuid));
    if (fault?.remaining != null && --fault.remaining === 0) this.faults = this.faults.filter((f) => f !== fault);
    return fault;
  }

  private addFault(fault: Fault): void {
    if (!(CUDA_FUNCTIONS as readonly string[]).includes(fault.fn)) throw new Error(`${fault.fn} is not a driver function the binding calls`);
    this.faults.unshift(fault);
  }

  private gpuScope(gpuUuid: string | undefined): string | null {
    if (gpuUuid === undefined) return null;
    if (!this.devices.some((d) => d.gpuUuid === gpuUuid)) throw new Error(`no CUDA device on GPU ${gpuUuid} in preset ${this.name}`);
    return gpuUuid;
  }
}

async function check(call: Call, fn: string, natural = 0): Promise<void> {
  const rc = await call(fn, natural);
  if (rc !== 0) throw new CudaError(rc, fn);
}

/** The CUDA devices of a machine in CUDA's default order (CUDA_DEVICE_ORDER=FASTEST_FIRST). */
export function cudaDevices(preset: NvmlPreset): FakeCudaDevice[] {
  const entries = preset.gpus.flatMap((gpu) => {
    const pci = pciKey(gpu.pciBusId);
    if (gpu.migEnabled) {
      return gpu.migDevices.map((mig, i) => ({
        pci: [...pci, i],
        device: {
          uuid: mig.uuid,
          gpuUuid: gpu.uuid,
          name: mig.name,
          pciBusId: cudaPciBusId(gpu.pciBusId),
          totalMemoryBytes: mig.memory.totalBytes - mig.memory.reservedBytes,
          usedBytes: mig.memory.usedBytes,
          computeCapability: { ...gpu.computeCapability },
          multiprocessorCount: mig.multiprocessorCount,
        },
      }));
    }
    return [
      {
        pci: [...pci, -1],
        device: {
          uuid: gpu.uuid,
          gpuUuid: gpu.uuid,
          name: gpu.name,
          pciBusId: cudaPciBusId(gpu.pciBusId),
          totalMemoryBytes: gpu.cudaTotalMemoryBytes ?? (gpu.memory ? gpu.memory.totalBytes - gpu.memory.reservedBytes : 0),
          usedBytes: gpu.memory?.usedBytes ?? 0,
          computeCapability: { ...gpu.computeCapability },
          multiprocessorCount: gpu.multiprocessorCount,
        },
      },
    ];
  });
  entries.sort((a, b) => b.device.multiprocessorCount - a.device.multiprocessorCount || compareKeys(a.pci, b.pci));
  return entries.map((e) => e.device);
}

/** `00000000:3B:00.0` (NVML) → `0000:3B:00.0` (cuDeviceGetPCIBusId). */
function cudaPciBusId(nvml: string): string {
  const [domain, bus, deviceFn] = nvml.split(':');
  return `${domain!.slice(-4)}:${bus}:${deviceFn}`;
}

function pciKey(busId: string): number[] {
  const [domain, bus, deviceFn] = busId.split(':');
  return [parseInt(domain!, 16), parseInt(bus!, 16), parseInt(deviceFn!.split('.')[0]!, 16)];
}

function compareKeys(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

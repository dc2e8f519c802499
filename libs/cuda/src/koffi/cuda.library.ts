import { bindOptional, decodeCString, loadSharedLibrary, readCString } from '@app/ffi';
import type { LibraryHandle } from 'koffi';
import { CudaError, CudaLibraryLoadError, CudaVerificationError } from '../cuda.errors.js';
import type { CudaDevice, CudaInventory, CudaLibraryInfo, CudaSmokeTestResult } from '../cuda.types.js';

/** C prototypes of the driver API functions used, with `%` for the symbol name. */
const PROTOTYPES = {
  cuInit: 'int %(unsigned int flags)',
  cuDriverGetVersion: 'int %(void *version)',
  cuDeviceGetCount: 'int %(void *count)',
  cuDeviceGet: 'int %(void *device, int ordinal)',
  cuDeviceGetName: 'int %(void *name, int len, int device)',
  cuDeviceGetUuid: 'int %(void *uuid, int device)',
  cuDeviceGetUuidLegacy: 'int %(void *uuid, int device)',
  cuDeviceGetPCIBusId: 'int %(void *busId, int len, int device)',
  cuDeviceTotalMem: 'int %(void *bytes, int device)',
  cuDeviceGetAttribute: 'int %(void *value, int attribute, int device)',
  cuDevicePrimaryCtxRetain: 'int %(void *ctx, int device)',
  cuDevicePrimaryCtxRelease: 'int %(int device)',
  cuCtxPushCurrent: 'int %(uint64_t ctx)',
  cuCtxPopCurrent: 'int %(void *ctx)',
  cuMemAlloc: 'int %(void *dptr, size_t bytes)',
  cuMemFree: 'int %(uint64_t dptr)',
  cuMemsetD8: 'int %(uint64_t dptr, unsigned char value, size_t count)',
  cuMemcpyDtoH: 'int %(void *dst, uint64_t src, size_t bytes)',
  cuGetErrorName: 'int %(int error, void *name)',
  cuGetErrorString: 'int %(int error, void *text)',
} as const;

type Op = keyof typeof PROTOTYPES;

/** Versioned symbols, newest first (CUDA headers map the plain names to these). */
const SYMBOLS: Record<Op, readonly string[]> = {
  cuInit: ['cuInit'],
  cuDriverGetVersion: ['cuDriverGetVersion'],
  cuDeviceGetCount: ['cuDeviceGetCount'],
  cuDeviceGet: ['cuDeviceGet'],
  cuDeviceGetName: ['cuDeviceGetName'],
  cuDeviceGetUuid: ['cuDeviceGetUuid_v2', 'cuDeviceGetUuid'],
  cuDeviceGetUuidLegacy: ['cuDeviceGetUuid'],
  cuDeviceGetPCIBusId: ['cuDeviceGetPCIBusId'],
  cuDeviceTotalMem: ['cuDeviceTotalMem_v2'],
  cuDeviceGetAttribute: ['cuDeviceGetAttribute'],
  cuDevicePrimaryCtxRetain: ['cuDevicePrimaryCtxRetain'],
  cuDevicePrimaryCtxRelease: ['cuDevicePrimaryCtxRelease_v2', 'cuDevicePrimaryCtxRelease'],
  cuCtxPushCurrent: ['cuCtxPushCurrent_v2'],
  cuCtxPopCurrent: ['cuCtxPopCurrent_v2'],
  cuMemAlloc: ['cuMemAlloc_v2'],
  cuMemFree: ['cuMemFree_v2'],
  cuMemsetD8: ['cuMemsetD8_v2'],
  cuMemcpyDtoH: ['cuMemcpyDtoH_v2'],
  cuGetErrorName: ['cuGetErrorName'],
  cuGetErrorString: ['cuGetErrorString'],
};

const CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
const CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
const CUDA_ERROR_NOT_FOUND = 500;
const SMOKE_PATTERN = 0xa5;

type Fn = (...args: unknown[]) => number;

/**
 * Synchronous binding of the CUDA driver API (`libcuda.so.1`) through koffi, used from worker
 * threads only. Contexts and device pointers never leave this class.
 */
export class CudaLibrary {
  readonly info: CudaLibraryInfo;
  private readonly fns: Partial<Record<Op, { fn: Fn; symbol: string }>> = {};
  private readonly i32 = new Int32Array(1);
  private readonly u64 = new BigUint64Array(1);
  private readonly ptr = new BigUint64Array(1);
  private readonly text = Buffer.alloc(128);
  private readonly uuid = Buffer.alloc(16);
  private readonly legacyUuid = Buffer.alloc(16);

  private constructor(lib: LibraryHandle, path: string) {
    for (const op of Object.keys(PROTOTYPES) as Op[]) {
      for (const symbol of SYMBOLS[op]) {
        const fn = bindOptional<Fn>(lib, PROTOTYPES[op].replace('%', symbol));
        if (fn) {
          this.fns[op] = { fn, symbol };
          break;
        }
      }
    }
    this.info = { path, simulated: bindOptional(lib, 'const char *gpuSimDescribe()') !== null };
  }

  /**
   * Loads `libraryPath` if given, else `libcuda.so.1` through the dynamic loader; a CUDA
   * toolkit `stubs/` copy is refused.
   * @throws CudaLibraryLoadError
   */
  static load(libraryPath: string | null): CudaLibrary {
    const loaded = loadSharedLibrary([libraryPath ?? 'libcuda.so.1'], (lib) =>
      bindOptional(lib, PROTOTYPES.cuInit.replace('%', 'cuInit')) ? null : 'not a CUDA driver library: cuInit is missing',
    );
    if ('attempts' in loaded) throw new CudaLibraryLoadError(loaded.attempts);
    return new CudaLibrary(loaded.lib, loaded.path);
  }

  /**
   * `cuInit(0)`, `cuDriverGetVersion` and every visible device (`cuDeviceGetCount`,
   * `cuDeviceGet`, `cuDeviceGetUuid_v2`, `cuDeviceGetName`, `cuDeviceGetPCIBusId`,
   * `cuDeviceTotalMem_v2`, compute capability attributes).
   * @throws CudaError, e.g. CUDA_ERROR_NO_DEVICE (100) from cuInit.
   */
  inventory(): CudaInventory {
    this.check('cuInit', this.call('cuInit', 0));
    this.check('cuDriverGetVersion', this.call('cuDriverGetVersion', this.i32));
    const v = this.i32[0]!;
    const driverVersion = `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}`;
    this.check('cuDeviceGetCount', this.call('cuDeviceGetCount', this.i32));
    const count = this.i32[0]!;
    const devices: CudaDevice[] = [];
    for (let ordinal = 0; ordinal < count; ordinal++) devices.push(this.describe(ordinal));
    return { driverVersion, devices };
  }

  /**
   * Proves the device works end to end: `cuDevicePrimaryCtxRetain` → `cuCtxPushCurrent_v2` →
   * `cuMemAlloc_v2(bytes)` → `cuMemsetD8_v2(0xA5)` → `cuMemcpyDtoH_v2` → verify every byte →
   * `cuMemFree_v2` → `cuCtxPopCurrent_v2` → `cuDevicePrimaryCtxRelease_v2`. Cleans up on failure.
   * @throws CudaError (the failing call's CUresult), CudaVerificationError
   */
  smokeTest(ordinal: number, bytes: number): CudaSmokeTestResult {
    const started = performance.now();
    const result = this.runSmokeTest(ordinal, bytes, started);
    return { ...result, totalMs: performance.now() - started };
  }

  private runSmokeTest(ordinal: number, bytes: number, started: number): CudaSmokeTestResult {
    this.check('cuInit', this.call('cuInit', 0));
    this.check('cuDeviceGet', this.call('cuDeviceGet', this.i32, ordinal));
    const device = this.i32[0]!;
    const uuid = this.readUuid(device);
    this.check('cuDevicePrimaryCtxRetain', this.call('cuDevicePrimaryCtxRetain', this.ptr, device));
    try {
      this.check('cuCtxPushCurrent', this.call('cuCtxPushCurrent', this.ptr[0]));
      try {
        const contextMs = performance.now() - started;
        const memoryStarted = performance.now();
        this.check('cuMemAlloc', this.call('cuMemAlloc', this.u64, bytes));
        const dptr = this.u64[0]!;
        try {
          this.check('cuMemsetD8', this.call('cuMemsetD8', dptr, SMOKE_PATTERN, bytes));
          const host = Buffer.alloc(bytes);
          this.check('cuMemcpyDtoH', this.call('cuMemcpyDtoH', host, dptr, bytes));
          for (let i = 0; i < bytes; i++) {
            if (host[i] !== SMOKE_PATTERN) throw new CudaVerificationError(ordinal, i, SMOKE_PATTERN, host[i]!);
          }
        } finally {
          this.call('cuMemFree', dptr);
        }
        const memoryMs = performance.now() - memoryStarted;
        return { ordinal, uuid, bytes, contextMs, memoryMs, totalMs: 0 };
      } finally {
        this.call('cuCtxPopCurrent', this.ptr);
      }
    } finally {
      this.call('cuDevicePrimaryCtxRelease', device);
    }
  }

  private describe(ordinal: number): CudaDevice {
    this.check('cuDeviceGet', this.call('cuDeviceGet', this.i32, ordinal));
    const device = this.i32[0]!;
    const uuid = this.readUuid(device);
    this.check('cuDeviceGetName', this.call('cuDeviceGetName', this.text, this.text.length, device));
    const name = readCString(this.text);
    const pciBusId =
      this.call('cuDeviceGetPCIBusId', this.text, this.text.length, device) === 0 ? readCString(this.text) : null;
    const totalMemoryBytes = this.call('cuDeviceTotalMem', this.u64, device) === 0 ? Number(this.u64[0]) : null;
    let computeCapability: CudaDevice['computeCapability'] = null;
    if (this.call('cuDeviceGetAttribute', this.i32, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device) === 0) {
      const major = this.i32[0]!;
      if (this.call('cuDeviceGetAttribute', this.i32, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device) === 0) {
        computeCapability = { major, minor: this.i32[0]! };
      }
    }
    return { ordinal, uuid, name, pciBusId, totalMemoryBytes, computeCapability };
  }

  /**
   * `cuDeviceGetUuid_v2` formatted as NVML does (`GPU-`/`MIG-` + 8-4-4-4-12 hex). A MIG device's
   * v2 UUID differs from its legacy `cuDeviceGetUuid` (the parent's), which marks it as MIG.
   */
  private readUuid(device: number): string {
    this.check('cuDeviceGetUuid', this.call('cuDeviceGetUuid', this.uuid, device));
    let mig = false;
    if (this.fns.cuDeviceGetUuid?.symbol === 'cuDeviceGetUuid_v2' && this.call('cuDeviceGetUuidLegacy', this.legacyUuid, device) === 0) {
      mig = !this.legacyUuid.equals(this.uuid);
    }
    return formatUuid(this.uuid, mig);
  }

  private call(op: Op, ...args: unknown[]): number {
    const bound = this.fns[op];
    if (!bound) return CUDA_ERROR_NOT_FOUND;
    return bound.fn(...args);
  }

  private check(op: Op, rc: number): void {
    if (rc === 0) return;
    const symbol = this.fns[op]?.symbol ?? SYMBOLS[op][0]!;
    const name = this.errorName(rc);
    throw new CudaError(rc, symbol, this.errorText(rc) ?? undefined, name ?? undefined);
  }

  private errorName(rc: number): string | null {
    return this.call('cuGetErrorName', rc, this.ptr) === 0 && this.ptr[0] ? decodeCString(this.ptr[0]) : null;
  }

  private errorText(rc: number): string | null {
    return this.call('cuGetErrorString', rc, this.ptr) === 0 && this.ptr[0] ? decodeCString(this.ptr[0]) : null;
  }
}

/** Formats 16 UUID bytes as NVML does: `GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`. */
export function formatUuid(bytes: Uint8Array, mig = false): string {
  const hex = Buffer.from(bytes).toString('hex');
  return `${mig ? 'MIG' : 'GPU'}-${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

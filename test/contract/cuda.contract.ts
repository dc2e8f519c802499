// Behaviour every CudaClient must share (fake, koffi binding over the native simulator, koffi
// binding over the real driver). CUDA_VISIBLE_DEVICES is checked where the harness supports env.
import { type CudaClient, CudaError, CudaTimeoutError, CudaVerificationError } from '@app/cuda';
import type { NvmlClient, NvmlDeviceIdentity } from '@app/nvml';
import { type NvmlPresetName, nvmlPreset } from '@app/nvml/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { CUDA_PCI_BUS_ID, expectedCudaDevice, GPU_UUID, MIG_UUID, waitFor } from './expectations.js';

/** A fault the harness sets up before the client starts. */
export type CudaFault =
  /** Driver function `fn` returns `code` (on the devices of GPU `gpuUuid` only, when given). */
  | { kind: 'fail'; fn: string; code: number; gpuUuid?: string }
  /** `cuInit` answers CUDA_ERROR_NO_DEVICE (100). */
  | { kind: 'noDevice' }
  /** `cuMemAlloc_v2` answers CUDA_ERROR_OUT_OF_MEMORY (2). */
  | { kind: 'allocFailure'; gpuUuid?: string }
  /** `cuMemcpyDtoH_v2` succeeds with the byte at `offset` flipped. */
  | { kind: 'corruptCopy'; gpuUuid?: string; offset?: number }
  /** Driver function `fn` blocks for `ms` per call (for `times` calls, or always). */
  | { kind: 'hang'; fn: string; ms: number; gpuUuid?: string; times?: number };

export interface CudaSetup {
  preset?: NvmlPresetName;
  faults?: CudaFault[];
  /** CUDA_VISIBLE_DEVICES / CUDA_DEVICE_ORDER for this subject (harnesses with `env` only). */
  env?: Record<string, string>;
  defaultTimeoutMs?: number;
}

export interface CudaSubject {
  client: CudaClient;
  /** An initialised NvmlClient of the same machine, to compare identities with. */
  nvml: NvmlClient;
  dispose(): Promise<void>;
}

export interface CudaHarness {
  presets: boolean;
  faults: boolean;
  /** Whether CUDA_VISIBLE_DEVICES / CUDA_DEVICE_ORDER take effect. */
  env: boolean;
  create(setup?: CudaSetup): Promise<CudaSubject>;
}

const MiB = 1024 * 1024;

async function nvmlIdentities(nvml: NvmlClient): Promise<NvmlDeviceIdentity[]> {
  return (await nvml.listDevices()).filter((d): d is NvmlDeviceIdentity => 'uuid' in d);
}

/** Registers the CudaClient contract for `harness` (call inside a test file). */
export function cudaContract(harness: CudaHarness): void {
  let current: CudaSubject | null = null;
  const open = async (setup?: CudaSetup): Promise<CudaSubject> => (current = await harness.create(setup));
  const uuids = async (setup: CudaSetup): Promise<string[]> => {
    const { client } = await open(setup);
    return (await client.inventory()).devices.map((d) => d.uuid);
  };

  afterEach(async () => {
    await current?.dispose();
    current = null;
  });

  const machines: Array<NvmlPresetName | undefined> = harness.presets ? ['h200', 'h100x8', 'a100-mig', 'gh200', 'mixed-order'] : [undefined];
  describe.each(machines)('CudaClient contract: any machine (%s)', (preset) => {
    it('enumerates devices whose UUIDs are the NVML UUIDs of the same GPUs or MIG devices', async () => {
      const { client, nvml } = await open({ preset });
      expect(client.libraryInfo()).toBeNull();
      const inventory = await client.inventory();
      expect(client.libraryInfo()?.path.length).toBeGreaterThan(0);
      expect(inventory.driverVersion).toMatch(/^\d+\.\d$/);
      expect(inventory.devices.map((d) => d.ordinal)).toEqual(inventory.devices.map((_, i) => i));

      const gpus = await nvmlIdentities(nvml);
      const owner = new Map(gpus.flatMap((g) => [[g.uuid, g] as const, ...g.migDevices.map((m) => [m.uuid, g] as const)]));
      for (const d of inventory.devices) {
        expect(d.uuid).toMatch(d.uuid.startsWith('MIG-') ? MIG_UUID : GPU_UUID);
        const gpu = owner.get(d.uuid);
        expect(gpu, `NVML knows ${d.uuid}`).toBeDefined();
        expect(d.pciBusId).toMatch(CUDA_PCI_BUS_ID);
        expect(d.pciBusId).toBe(gpu!.pciBusId.slice(4));
        expect(d.computeCapability).toEqual(gpu!.computeCapability);
        expect(d.totalMemoryBytes).toBeGreaterThan(0);
        // A whole GPU has at most the framebuffer NVML reports (where it reports one).
        expect(d.totalMemoryBytes).toBeLessThanOrEqual(d.uuid.startsWith('MIG-') ? Number.POSITIVE_INFINITY : (gpu!.memoryTotalBytes ?? Number.POSITIVE_INFINITY));
      }
      expect(new Set(inventory.devices.map((d) => d.uuid)).size).toBe(inventory.devices.length);
    });

    it('passes the smoke test on device 0: allocate, fill, copy back, verify', async () => {
      const { client } = await open({ preset });
      const { devices } = await client.inventory();
      const result = await client.smokeTest(0, MiB);
      expect(result).toEqual({
        ordinal: 0,
        uuid: devices[0]!.uuid,
        bytes: MiB,
        contextMs: expect.any(Number),
        memoryMs: expect.any(Number),
        totalMs: expect.any(Number),
      });
      expect(result.totalMs).toBeGreaterThanOrEqual(result.contextMs);
      expect(result.memoryMs).toBeGreaterThanOrEqual(0);
    });

    it('rejects a smoke test of a device that does not exist with CUDA_ERROR_INVALID_DEVICE', async () => {
      const { client } = await open({ preset });
      const { devices } = await client.inventory();
      const error = await client.smokeTest(devices.length, MiB).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CudaError);
      expect(error).toMatchObject({ code: 101, symbol: 'CUDA_ERROR_INVALID_DEVICE', fn: 'cuDeviceGet' });
    });
  });

  describe.skipIf(!harness.presets)('CudaClient contract: presets', () => {
    it('h200: one device, total memory less the reserved', async () => {
      const { client } = await open({ preset: 'h200' });
      expect(await client.inventory()).toEqual({ driverVersion: '13.0', devices: [expectedCudaDevice(nvmlPreset('h200').gpus[0]!, 0)] });
    });

    it('h100x8: equal GPUs in PCI order', async () => {
      const { client } = await open({ preset: 'h100x8' });
      expect((await client.inventory()).devices).toEqual(nvmlPreset('h100x8').gpus.map(expectedCudaDevice));
    });

    it('a100-mig: the MIG devices, not the GPU', async () => {
      const { client } = await open({ preset: 'a100-mig' });
      const { devices } = await client.inventory();
      expect(devices.map((d) => [d.uuid, d.name, d.totalMemoryBytes])).toEqual([
        ['MIG-2f9c1b4e-7a3d-5e62-9b8c-1d2e3f4a5b60', 'NVIDIA A100-SXM4-80GB MIG 3g.40gb', 40192 * MiB],
        ['MIG-8e7d6c5b-4a39-5f28-8d1c-0b9a8f7e6d51', 'NVIDIA A100-SXM4-80GB MIG 3g.40gb', 40192 * MiB],
      ]);
      await expect(client.smokeTest(1, MiB)).resolves.toMatchObject({ uuid: 'MIG-8e7d6c5b-4a39-5f28-8d1c-0b9a8f7e6d51' });
    });

    it('gh200: CUDA reports the HBM size NVML does not', async () => {
      const { client } = await open({ preset: 'gh200' });
      expect((await client.inventory()).devices).toEqual([expectedCudaDevice(nvmlPreset('gh200').gpus[0]!, 0)]);
    });

    it('mixed-order: fastest first, so the H100 (NVML index 1) is CUDA device 0', async () => {
      const { client } = await open({ preset: 'mixed-order' });
      const [t4, h100] = nvmlPreset('mixed-order').gpus;
      expect((await client.inventory()).devices).toEqual([expectedCudaDevice(h100!, 0), expectedCudaDevice(t4!, 1)]);
    });

    it('empty: cuInit answers CUDA_ERROR_NO_DEVICE', async () => {
      const { client } = await open({ preset: 'empty' });
      await expect(client.inventory()).rejects.toMatchObject({ name: 'CudaError', code: 100, symbol: 'CUDA_ERROR_NO_DEVICE', fn: 'cuInit' });
    });
  });

  describe.skipIf(!harness.faults)('CudaClient contract: faults', () => {
    const h100 = nvmlPreset('h100x8').gpus;

    it('no visible device: inventory rejects with CUDA_ERROR_NO_DEVICE (100) from cuInit', async () => {
      const { client } = await open({ faults: [{ kind: 'noDevice' }] });
      const error = await client.inventory().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CudaError);
      expect(error).toMatchObject({ code: 100, symbol: 'CUDA_ERROR_NO_DEVICE', fn: 'cuInit', text: 'no CUDA-capable device is detected' });
      expect(client.libraryInfo()).toBeNull();
    });

    it('an allocation failure rejects the smoke test with CUDA_ERROR_OUT_OF_MEMORY from cuMemAlloc_v2', async () => {
      const { client } = await open({ preset: 'h100x8', faults: [{ kind: 'allocFailure', gpuUuid: h100[0]!.uuid }] });
      await expect(client.smokeTest(0, MiB)).rejects.toMatchObject({ name: 'CudaError', code: 2, symbol: 'CUDA_ERROR_OUT_OF_MEMORY', fn: 'cuMemAlloc_v2' });
      await expect(client.smokeTest(1, MiB)).resolves.toMatchObject({ ordinal: 1, uuid: h100[1]!.uuid });
    });

    it('an allocation larger than the free memory fails with CUDA_ERROR_OUT_OF_MEMORY', async () => {
      const { client } = await open({ preset: 'h200' });
      const [device] = (await client.inventory()).devices;
      await expect(client.smokeTest(0, device!.totalMemoryBytes! + 1)).rejects.toMatchObject({ code: 2, fn: 'cuMemAlloc_v2' });
    });

    it('a corrupted copy fails verification with CudaVerificationError at the flipped byte', async () => {
      const { client } = await open({ preset: 'h200', faults: [{ kind: 'corruptCopy', offset: 4096 }] });
      const error = await client.smokeTest(0, MiB).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CudaVerificationError);
      expect(error).toMatchObject({ ordinal: 0, firstBadOffset: 4096, expected: 0xa5, actual: 0x5a });
    });

    it('a failing driver call rejects with CudaError naming it', async () => {
      const { client } = await open({ preset: 'h200', faults: [{ kind: 'fail', fn: 'cuDevicePrimaryCtxRetain', code: 46 }] });
      await expect(client.smokeTest(0, MiB)).rejects.toMatchObject({ code: 46, symbol: 'CUDA_ERROR_DEVICE_UNAVAILABLE', fn: 'cuDevicePrimaryCtxRetain' });
    });

    it('a hung call rejects with CudaTimeoutError at its deadline; the device refuses at once while stuck; others answer', async () => {
      const [hung, other] = [h100[0]!, h100[1]!];
      const { client } = await open({ preset: 'h100x8', faults: [{ kind: 'hang', fn: 'cuMemsetD8_v2', gpuUuid: hung.uuid, ms: 2_000, times: 1 }] });
      await client.inventory();
      let started = performance.now();
      const timedOut = await client.smokeTest(0, MiB, { timeoutMs: 300 }).catch((e: unknown) => e);
      expect(timedOut).toBeInstanceOf(CudaTimeoutError);
      expect(timedOut).toMatchObject({ operation: 'smoke test of CUDA device 0', timeoutMs: 300 });
      expect(performance.now() - started).toBeLessThan(800);

      started = performance.now();
      await expect(client.smokeTest(0, MiB, { timeoutMs: 1_000 })).rejects.toBeInstanceOf(CudaTimeoutError);
      expect(performance.now() - started).toBeLessThan(100);
      await expect(client.smokeTest(1, MiB)).resolves.toMatchObject({ uuid: other.uuid });

      const recovered = await waitFor(
        () => client.smokeTest(0, MiB, { timeoutMs: 1_000 }).catch((e: unknown) => (e instanceof CudaTimeoutError ? undefined : Promise.reject(e))),
        'the hung device to answer again',
      );
      expect(recovered).toMatchObject({ ordinal: 0, uuid: hung.uuid });
    });
  });

  describe.skipIf(!harness.env)('CudaClient contract: CUDA_VISIBLE_DEVICES', () => {
    const [t4, h100] = nvmlPreset('mixed-order').gpus;

    it('an index counts in CUDA order (fastest first by default)', async () => {
      expect(await uuids({ preset: 'mixed-order', env: { CUDA_VISIBLE_DEVICES: '1' } })).toEqual([t4!.uuid]);
    });

    it('an index counts in PCI order with CUDA_DEVICE_ORDER=PCI_BUS_ID', async () => {
      expect(await uuids({ preset: 'mixed-order', env: { CUDA_VISIBLE_DEVICES: '1', CUDA_DEVICE_ORDER: 'PCI_BUS_ID' } })).toEqual([h100!.uuid]);
    });

    it('a UUID prefix selects its GPU, and the list keeps the given order', async () => {
      expect(await uuids({ preset: 'mixed-order', env: { CUDA_VISIBLE_DEVICES: `${t4!.uuid.slice(0, 12)},${h100!.uuid}` } })).toEqual([t4!.uuid, h100!.uuid]);
    });

    it('a MIG UUID selects that MIG device', async () => {
      const mig = 'MIG-8e7d6c5b-4a39-5f28-8d1c-0b9a8f7e6d51';
      expect(await uuids({ preset: 'a100-mig', env: { CUDA_VISIBLE_DEVICES: mig } })).toEqual([mig]);
    });

    it('the list ends at the first entry that names no device', async () => {
      expect(await uuids({ preset: 'mixed-order', env: { CUDA_VISIBLE_DEVICES: '0,7,1' } })).toEqual([h100!.uuid]);
    });

    it('a value that names no device leaves none: cuInit answers CUDA_ERROR_NO_DEVICE', async () => {
      const { client } = await open({ preset: 'mixed-order', env: { CUDA_VISIBLE_DEVICES: 'GPU-ffffffff' } });
      await expect(client.inventory()).rejects.toMatchObject({ code: 100, fn: 'cuInit' });
    });
  });
}

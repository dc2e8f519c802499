// ThreadedNvmlClient over NVIDIA's own libnvidia-ml.so.1 (Debian's libnvidia-ml1, fetched by
// scripts/fetch-nvidia-debian.sh) on a machine without the NVIDIA driver: the real no-driver path.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NvmlError, NvmlLibraryLoadError, ThreadedNvmlClient } from '@app/nvml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const genuine = fileURLToPath(new URL('../../../../.tools/nvidia/lib/libnvidia-ml.so.1', import.meta.url));
const clients: ThreadedNvmlClient[] = [];
const client = (libraryPath: string): ThreadedNvmlClient => {
  const c = new ThreadedNvmlClient({ libraryPath, defaultTimeoutMs: 10_000 });
  clients.push(c);
  return c;
};
let work: string;

beforeAll(() => {
  if (!existsSync(genuine)) throw new Error(`${genuine} is missing: run scripts/fetch-nvidia-debian.sh`);
  work = mkdtempSync(join(tmpdir(), 'nvml-genuine-'));
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('ThreadedNvmlClient over the genuine libnvidia-ml.so.1 without a driver', () => {
  it('init() rejects with NVML_ERROR_DRIVER_NOT_LOADED (9) from nvmlInit_v2, in the library’s own words', async () => {
    const nvml = client(genuine);
    const error = await nvml.init().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NvmlError);
    expect(error).toMatchObject({ code: 9, symbol: 'NVML_ERROR_DRIVER_NOT_LOADED', fn: 'nvmlInit_v2', text: 'Driver Not Loaded' });
    expect(nvml.libraryInfo()).toBeNull();
  });

  it('answers NVML_ERROR_UNINITIALIZED to a call made without a successful init()', async () => {
    await expect(client(genuine).listDevices()).rejects.toMatchObject({ name: 'NvmlError', code: 1, fn: 'nvmlDeviceGetCount_v2' });
  });

  it('refuses a copy under a stubs/ folder without loading it, listing the path', async () => {
    const stubs = join(work, 'cuda/lib64/stubs');
    mkdirSync(stubs, { recursive: true });
    const stub = join(stubs, 'libnvidia-ml.so');
    copyFileSync(genuine, stub);
    const error = await client(stub).init().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NvmlLibraryLoadError);
    expect((error as NvmlLibraryLoadError).attempts).toEqual([{ path: stub, error: 'refused: a CUDA toolkit stub library, not the driver' }]);
    expect((error as Error).message).toContain(stub);
  });

  it('reports a library that is not there with the loader text', async () => {
    const missing = join(work, 'nowhere/libnvidia-ml.so.1');
    const error = await client(missing).init().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NvmlLibraryLoadError);
    expect(error).toMatchObject({ code: 12, symbol: 'NVML_ERROR_LIBRARY_NOT_FOUND', attempts: [{ path: missing, error: expect.stringContaining('cannot open shared object file') }] });
  });
});

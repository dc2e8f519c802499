// ThreadedCudaClient over NVIDIA's own libcuda.so.1 (Debian's libcuda1, fetched by
// scripts/fetch-nvidia-debian.sh) on a machine without a GPU.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CudaError, CudaLibraryLoadError, ThreadedCudaClient } from '@app/cuda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const genuine = fileURLToPath(new URL('../../../../.tools/nvidia/lib/libcuda.so.1', import.meta.url));
const clients: ThreadedCudaClient[] = [];
const client = (libraryPath: string): ThreadedCudaClient => {
  const c = new ThreadedCudaClient({ libraryPath, defaultTimeoutMs: 20_000 });
  clients.push(c);
  return c;
};
let work: string;

beforeAll(() => {
  if (!existsSync(genuine)) throw new Error(`${genuine} is missing: run scripts/fetch-nvidia-debian.sh`);
  work = mkdtempSync(join(tmpdir(), 'cuda-genuine-'));
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('ThreadedCudaClient over the genuine libcuda.so.1 without a GPU', () => {
  it('inventory() rejects with CUDA_ERROR_NO_DEVICE (100) from cuInit, in the library’s own words', async () => {
    const cuda = client(genuine);
    const error = await cuda.inventory().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CudaError);
    expect(error).toMatchObject({ code: 100, symbol: 'CUDA_ERROR_NO_DEVICE', fn: 'cuInit', text: 'no CUDA-capable device is detected' });
    expect(cuda.libraryInfo()).toBeNull();
  });

  it('refuses a copy under a stubs/ folder without loading it, listing the path', async () => {
    const stubs = join(work, 'cuda/lib64/stubs');
    mkdirSync(stubs, { recursive: true });
    const stub = join(stubs, 'libcuda.so');
    copyFileSync(genuine, stub);
    const error = await client(stub).inventory().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CudaLibraryLoadError);
    expect((error as CudaLibraryLoadError).attempts).toEqual([{ path: stub, error: 'refused: a CUDA toolkit stub library, not the driver' }]);
  });
});

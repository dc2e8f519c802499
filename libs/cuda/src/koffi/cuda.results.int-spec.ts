// The built-in CUresult table stands in for cuGetErrorName / cuGetErrorString when libcuda cannot
// be called; it must read as the genuine library (Debian's libcuda1, scripts/fetch-nvidia-debian.sh).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';
import { describe, expect, it } from 'vitest';
import { CUDA_RESULTS } from '../cuda.results.js';

const genuine = fileURLToPath(new URL('../../../../.tools/nvidia/lib/libcuda.so.1', import.meta.url));

describe('CUresult table against the genuine cuGetErrorName / cuGetErrorString', () => {
  it('matches every code the genuine library knows', () => {
    if (!existsSync(genuine)) throw new Error(`${genuine} is missing: run scripts/fetch-nvidia-debian.sh`);
    const lib = koffi.load(genuine);
    try {
      const getName = lib.func('int cuGetErrorName(int error, _Out_ const char **name)') as (code: number, out: [string | null]) => number;
      const getText = lib.func('int cuGetErrorString(int error, _Out_ const char **text)') as (code: number, out: [string | null]) => number;
      let compared = 0;
      for (const [code, [name, text]] of Object.entries(CUDA_RESULTS)) {
        const n: [string | null] = [null];
        const t: [string | null] = [null];
        // CUDA_ERROR_INVALID_VALUE: a code this library version does not know.
        if (getName(Number(code), n) !== 0) continue;
        expect(getText(Number(code), t), `code ${code}`).toBe(0);
        expect([n[0], t[0]], `code ${code}`).toEqual([name, text]);
        compared++;
      }
      expect(compared).toBeGreaterThan(80);
    } finally {
      lib.unload();
    }
  });
});

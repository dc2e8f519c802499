// The built-in texts stand in for nvmlErrorString when the library cannot be loaded, so they must
// read exactly as the genuine library's (Debian's libnvidia-ml1, see scripts/fetch-nvidia-debian.sh).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';
import { describe, expect, it } from 'vitest';
import { NVML_RETURN_TEXTS } from '../nvml.return-codes.js';

const genuine = fileURLToPath(new URL('../../../../.tools/nvidia/lib/libnvidia-ml.so.1', import.meta.url));

describe('nvmlReturn_t texts against the genuine nvmlErrorString', () => {
  it('match for every code the genuine library knows', () => {
    if (!existsSync(genuine)) throw new Error(`${genuine} is missing: run scripts/fetch-nvidia-debian.sh`);
    const lib = koffi.load(genuine);
    try {
      const errorString = lib.func('const char *nvmlErrorString(int result)') as (code: number) => string;
      const unknown = errorString(999);
      const known = Object.entries(NVML_RETURN_TEXTS).filter(([code]) => code === '999' || errorString(Number(code)) !== unknown);
      // Codes past the library's own header version read as "Unknown Error" there.
      expect(known.length).toBeGreaterThanOrEqual(26);
      for (const [code, text] of known) expect(errorString(Number(code)), `code ${code}`).toBe(text);
    } finally {
      lib.unload();
    }
  });
});

import { describe, expect, it } from 'vitest';
import { bindOptional, loadSharedLibrary, readCString } from './load-library.js';

describe('loadSharedLibrary', () => {
  it('refuses a CUDA toolkit stubs/ copy without opening it', () => {
    expect(loadSharedLibrary(['/usr/local/cuda/lib64/stubs/libnvidia-ml.so', 'stubs/libcuda.so'])).toEqual({
      attempts: [
        { path: '/usr/local/cuda/lib64/stubs/libnvidia-ml.so', error: 'refused: a CUDA toolkit stub library, not the driver' },
        { path: 'stubs/libcuda.so', error: 'refused: a CUDA toolkit stub library, not the driver' },
      ],
    });
  });

  it("reports the dynamic loader's own text for each candidate that does not load", () => {
    const result = loadSharedLibrary(['/nonexistent/libnvidia-ml.so.1', 'libdoes-not-exist.so.1']);
    expect(result).toEqual({
      attempts: [
        { path: '/nonexistent/libnvidia-ml.so.1', error: expect.stringContaining('cannot open shared object file') },
        { path: 'libdoes-not-exist.so.1', error: expect.stringContaining('cannot open shared object file') },
      ],
    });
  });

  it('resolves a bare name to the file the loader mapped, and lets accept() refuse it', () => {
    const result = loadSharedLibrary(['libm.so.6'], (lib) => (bindOptional(lib, 'int nvmlInit_v2()') ? null : 'nvmlInit_v2 is missing'));
    expect(result).toEqual({ attempts: [{ path: expect.stringMatching(/^\/.*\/libm\.so\.6$/), error: 'nvmlInit_v2 is missing' }] });
  });

  it('returns the first candidate that loads and is accepted', () => {
    const result = loadSharedLibrary(['/nonexistent/libm.so.6', 'libm.so.6']);
    expect('lib' in result && result.path).toMatch(/^\/.*\/libm\.so\.6$/);
    if (!('lib' in result)) return;
    const cos = bindOptional<(x: number) => number>(result.lib, 'double cos(double x)');
    expect(cos?.(0)).toBe(1);
  });
});

describe('readCString', () => {
  it('reads up to the first NUL, or the whole buffer without one', () => {
    expect(readCString(Buffer.from('NVIDIA H200\0garbage', 'latin1'))).toBe('NVIDIA H200');
    expect(readCString(Buffer.from('no terminator', 'latin1'))).toBe('no terminator');
    expect(readCString(Buffer.alloc(8))).toBe('');
  });
});

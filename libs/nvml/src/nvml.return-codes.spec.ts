import { describe, expect, it } from 'vitest';
import { NVML_RETURN_NAMES, NVML_RETURN_TEXTS, NvmlReturn, nvmlReturnName, nvmlReturnText } from './nvml.return-codes.js';

describe('nvmlReturn_t tables', () => {
  it('name and text every code alike', () => {
    expect(Object.keys(NVML_RETURN_TEXTS)).toEqual(Object.keys(NVML_RETURN_NAMES));
    expect(Object.keys(NVML_RETURN_NAMES).map(Number)).toEqual([...Array.from({ length: 31 }, (_, i) => i), 999]);
  });

  it('spell every name as nvml.h does', () => {
    for (const [code, name] of Object.entries(NVML_RETURN_NAMES)) {
      expect(name, `code ${code}`).toMatch(code === '0' ? /^NVML_SUCCESS$/ : /^NVML_ERROR_[A-Z0-9_]+$/);
    }
  });

  it('give NvmlReturn constants the codes their names carry', () => {
    for (const [key, code] of Object.entries(NvmlReturn)) {
      expect(nvmlReturnName(code)).toBe(key === 'SUCCESS' ? 'NVML_SUCCESS' : `NVML_ERROR_${key}`);
    }
  });

  it('know the codes the service reasons about', () => {
    expect([3, 9, 15, 17, 18, 999].map((c) => [nvmlReturnName(c), nvmlReturnText(c)])).toEqual([
      ['NVML_ERROR_NOT_SUPPORTED', 'Not Supported'],
      ['NVML_ERROR_DRIVER_NOT_LOADED', 'Driver Not Loaded'],
      ['NVML_ERROR_GPU_IS_LOST', 'GPU is lost'],
      ['NVML_ERROR_OPERATING_SYSTEM', 'GPU access blocked by the operating system'],
      ['NVML_ERROR_LIB_RM_VERSION_MISMATCH', 'Driver/library version mismatch'],
      ['NVML_ERROR_UNKNOWN', 'Unknown Error'],
    ]);
  });

  it('fall back to the number for a code it does not know', () => {
    expect(nvmlReturnName(31)).toBe('NVML_ERROR_31');
    expect(nvmlReturnText(31)).toBe('Unknown NVML return code 31');
  });
});

import { describe, expect, it } from 'vitest';
import { formatUuid } from './cuda.library.js';

describe('formatUuid', () => {
  const bytes = Uint8Array.from(Buffer.from('a7edcf28a0562c4934b65db71afeea6a', 'hex'));

  it('formats 16 CUDA UUID bytes as NVML prints a GPU UUID', () => {
    expect(formatUuid(bytes)).toBe('GPU-a7edcf28-a056-2c49-34b6-5db71afeea6a');
  });

  it('uses the MIG- prefix for a MIG device', () => {
    expect(formatUuid(bytes, true)).toBe('MIG-a7edcf28-a056-2c49-34b6-5db71afeea6a');
  });
});

import { readFileSync } from 'node:fs';

/** Binary layout of the counters file (little-endian); see libs/gpu-sim/README.md. */
export const SIM_COUNTERS_LAYOUT = {
  magic: 'GPUSIMC1',
  version: 1,
  headerSize: 64,
  slotCount: 256,
  slotSize: 128,
  slot: { state: 0, name: 8, nameSize: 56, calls: 64, inFlight: 72, maxInFlight: 80, callsAfterShutdown: 88 },
} as const;

export interface SimCounter {
  /** Calls so far. */
  calls: number;
  /** Calls in progress right now. */
  inFlight: number;
  /** Most calls in progress at the same time. */
  maxInFlight: number;
  /** Calls made while NVML was shut down again (refcount back at 0 after an nvmlShutdown). */
  callsAfterShutdown: number;
}

/** Reads the counters file written by the simulator libraries, keyed by function name. */
export function readSimCounters(path: string): Record<string, SimCounter> {
  const buf = readFileSync(path);
  const L = SIM_COUNTERS_LAYOUT;
  if (buf.length < L.headerSize || buf.toString('latin1', 0, 8) !== L.magic) {
    throw new Error(`${path}: not a gpu-sim counters file`);
  }
  const version = buf.readUInt32LE(8);
  const headerSize = buf.readUInt32LE(12);
  const slotCount = buf.readUInt32LE(16);
  const slotSize = buf.readUInt32LE(20);
  if (version !== L.version) throw new Error(`${path}: counters layout version ${version}, expected ${L.version}`);
  const out: Record<string, SimCounter> = {};
  for (let i = 0; i < slotCount; i++) {
    const at = headerSize + i * slotSize;
    if (at + slotSize > buf.length || buf.readUInt32LE(at + L.slot.state) !== 2) continue;
    const raw = buf.subarray(at + L.slot.name, at + L.slot.name + L.slot.nameSize);
    const end = raw.indexOf(0);
    const name = raw.toString('latin1', 0, end < 0 ? raw.length : end);
    out[name] = {
      calls: Number(buf.readBigUInt64LE(at + L.slot.calls)),
      inFlight: Number(buf.readBigInt64LE(at + L.slot.inFlight)),
      maxInFlight: Number(buf.readBigInt64LE(at + L.slot.maxInFlight)),
      callsAfterShutdown: Number(buf.readBigUInt64LE(at + L.slot.callsAfterShutdown)),
    };
  }
  return out;
}

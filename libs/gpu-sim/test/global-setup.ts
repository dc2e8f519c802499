/**
 * Vitest global setup: builds the simulator libraries and the C test driver when a source is
 * newer than the outputs. Add to a project's `globalSetup` to use it (the gpu-sim tests also
 * call ensureSimBuilt() themselves).
 */
import { ensureSimBuilt } from '../src/index.js';

export default function setup(): void {
  ensureSimBuilt();
}

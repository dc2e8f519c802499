export { type CallTrace, DeadlineCalls, Hang, type TimeoutErrorFactory } from './fake-calls.js';
export { type FakeNvmlClientOptions, type FakeNvmlCounters, FakeNvmlClient } from './fake-nvml.client.js';
export {
  type FakeGpu,
  type FakeMemory,
  type FakeMigDevice,
  type FakeReadings,
  type FakeRemappedRows,
  type FakeSystem,
  freeBytes,
  NVML_PRESET_NAMES,
  type NvmlPreset,
  type NvmlPresetName,
  nvmlPreset,
  presetReadings,
} from './nvml.presets.js';

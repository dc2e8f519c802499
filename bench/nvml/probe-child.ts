// Runs in a child process: does this machine have an NVIDIA driver NVML can initialise? Loads
// NVML as the service does (NVML_LIBRARY_PATH, else the loader's libnvidia-ml.so.1) and prints
// one JSON line: the library, whether it is the simulator, driver versions and the GPUs.
import { importDist } from '../lib/dist.js';

type Library = typeof import('../../libs/nvml/src/koffi/nvml.library.js');

export interface ProbeResult {
  ok: boolean;
  error?: string;
  library?: string;
  simulated?: boolean;
  driverVersion?: string;
  nvmlVersion?: string;
  cudaDriverVersion?: string | null;
  gpus?: Array<{ index: number; uuid: string; name: string; memoryTotalBytes: number | null }>;
}

async function probe(): Promise<ProbeResult> {
  const { NvmlLibrary } = await importDist<Library>('libs/nvml/src/koffi/nvml.library.js');
  const lib = NvmlLibrary.load({ libraryPath: process.env.NVML_LIBRARY_PATH || null });
  lib.init();
  try {
    const system = lib.systemInfo();
    const gpus = lib.listDevices().flatMap((d) => ('uuid' in d ? [{ index: d.index, uuid: d.uuid, name: d.name, memoryTotalBytes: d.memoryTotalBytes }] : []));
    return { ok: true, library: lib.info.path, simulated: lib.info.simulator !== null, ...system, gpus };
  } finally {
    lib.shutdown();
  }
}

probe().then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (error: unknown) => process.stdout.write(`${JSON.stringify({ ok: false, error: (error as Error).message.split('\n')[0] })}\n`),
);

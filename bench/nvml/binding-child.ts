// Runs in a child process of its own (one NVML library per process): times NVML through the
// service's koffi binding, as built in dist/, and prints one JSON line. The job comes as JSON in
// argv[2] (see BindingJob). Started by bench/nvml/suite.ts with `--expose-gc`.
import { importDist } from '../lib/dist.js';
import { memoryOf } from '../lib/proc.js';
import { lowerMedian as better, scaleSummary, type Summary, summarize } from '../lib/stats.js';
import { ROUNDS, type TimedCall } from './calls.js';

type Ffi = typeof import('../../libs/ffi/src/index.js');
type Symbols = typeof import('../../libs/nvml/src/koffi/nvml.symbols.js');
type Structs = typeof import('../../libs/nvml/src/koffi/nvml.structs.js');
type Library = typeof import('../../libs/nvml/src/koffi/nvml.library.js');
type Threaded = typeof import('../../libs/nvml/src/koffi/threaded-nvml.client.js');
type CallStats = typeof import('../../libs/nvml/src/nvml.call-stats.js');

export interface BindingJob {
  /** NVML_LIBRARY_PATH, or null for the loader's libnvidia-ml.so.1. */
  library: string | null;
  ms: number;
  calls: TimedCall[];
  /** GPU counts of the whole-machine snapshots (the first N GPUs). */
  snapshots: number[];
  /** GPUs of the per-request init/query/shutdown cycle; 0: none. */
  cycleGpus: number;
  threaded: boolean;
  /** Seconds of back-to-back snapshots between two RSS readings; 0: none. */
  leakSeconds: number;
}

export interface BindingResult {
  library: string;
  symbols: Record<string, string | null>;
  /** Cost of one performance.now() pair, ns. */
  timer: Summary;
  calls: Array<{ fn: string; symbol: string | null; rc: number } & Summary>;
  /** NvmlLibrary.sampleDevice on the first N GPUs in turn, as a worker runs it (with call statistics), ns. */
  snapshots: Record<number, Summary>;
  /** The same without the call statistics block, ns. */
  snapshotsNoStats: Record<number, Summary>;
  cycle: Summary | null;
  threaded: { roundTrip: Summary; snapshots: Record<number, Summary> } | null;
  leak: { snapshots: number; seconds: number; rssBeforeBytes: number; rssAfterBytes: number } | null;
}

const MAX_SAMPLES = 200_000;

/** Times `fn` for `ms` after `warmups` calls; nanoseconds. */
function measure(fn: () => unknown, ms: number, warmups: number): Summary {
  for (let i = 0; i < warmups; i++) fn();
  const samples = new Float64Array(MAX_SAMPLES);
  const deadline = performance.now() + ms;
  let n = 0;
  while (n < MAX_SAMPLES) {
    const t0 = performance.now();
    fn();
    const t1 = performance.now();
    samples[n++] = t1 - t0;
    if (t1 > deadline) break;
  }
  return scaleSummary(summarize(samples.subarray(0, n)), 1e6);
}

async function measureAsync(fn: () => Promise<unknown>, ms: number, warmups: number): Promise<Summary> {
  for (let i = 0; i < warmups; i++) await fn();
  const samples: number[] = [];
  const deadline = performance.now() + ms;
  while (samples.length < MAX_SAMPLES) {
    const t0 = performance.now();
    await fn();
    const t1 = performance.now();
    samples.push(t1 - t0);
    if (t1 > deadline) break;
  }
  return scaleSummary(summarize(samples), 1e6);
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function main(job: BindingJob): Promise<BindingResult> {
  const ffi = await importDist<Ffi>('libs/ffi/src/index.js');
  const { PROTOTYPES, SYMBOLS } = await importDist<Symbols>('libs/nvml/src/koffi/nvml.symbols.js');
  const { NVML_MEMORY_V2_VERSION, NvmlProcessInfo } = await importDist<Structs>('libs/nvml/src/koffi/nvml.structs.js');
  const { NvmlLibrary } = await importDist<Library>('libs/nvml/src/koffi/nvml.library.js');
  const { ThreadedNvmlClient } = await importDist<Threaded>('libs/nvml/src/koffi/threaded-nvml.client.js');
  const { CallStatsWriter } = await importDist<CallStats>('libs/nvml/src/nvml.call-stats.js');
  const { NVML_FUNCTIONS } = await importDist<Symbols>('libs/nvml/src/koffi/nvml.symbols.js');

  // ---- single calls through koffi, bound with the binding's own prototypes -------------------
  const loaded = ffi.loadSharedLibrary([job.library ?? 'libnvidia-ml.so.1']);
  if ('attempts' in loaded) throw new Error(`cannot load NVML: ${JSON.stringify(loaded.attempts)}`);
  type Op = keyof typeof SYMBOLS;
  const bound = {} as Record<Op, { fn: (...args: unknown[]) => unknown; symbol: string } | undefined>;
  for (const op of Object.keys(SYMBOLS) as Op[]) {
    for (const symbol of SYMBOLS[op]) {
      const fn = ffi.bindOptional(loaded.lib, PROTOTYPES[op].replace('%', symbol));
      if (fn) {
        bound[op] = { fn, symbol };
        break;
      }
    }
  }
  const f = (op: Op): ((...args: unknown[]) => unknown) => {
    const b = bound[op];
    if (!b) throw new Error(`NVML lacks ${SYMBOLS[op].join(' / ')}`);
    return b.fn;
  };
  const call = (op: Op, ...args: unknown[]): number => f(op)(...args) as number;

  if (call('init') !== 0) throw new Error('nvmlInit_v2 failed');
  const u32 = new Uint32Array(4);
  const u32b = new Uint32Array(1);
  const u32c = new Uint32Array(1);
  const u32d = new Uint32Array(1);
  const u64 = new BigUint64Array(1);
  const ptr = new BigUint64Array(1);
  const text = Buffer.alloc(96);
  const memory = Buffer.alloc(64);
  const processes = Buffer.alloc(NvmlProcessInfo.size * 64);
  if (call('handleByIndex', 0, ptr) !== 0) throw new Error('no GPU 0');
  const h = ptr[0]!;
  call('uuid', h, text, 96);
  const uuid0 = ffi.readCString(text);

  // One closure per timed call, mirroring the C program's arguments.
  const memoryOp: Op = bound.memoryV2 ? 'memoryV2' : 'memoryV1';
  const processOp: Op = bound.processesV3 ? 'processesV3' : 'processesV1';
  const invoke: Record<TimedCall, { op: Op; run: () => number }> = {
    'nvmlInit_v2+nvmlShutdown': { op: 'init', run: () => call('shutdown') || call('init') },
    nvmlErrorString: { op: 'errorString', run: () => ((f('errorString')(3) as string).length > 0 ? 0 : -1) },
    nvmlSystemGetDriverVersion: { op: 'driverVersion', run: () => call('driverVersion', text, 96) },
    nvmlDeviceGetCount_v2: { op: 'count', run: () => call('count', u32) },
    nvmlDeviceGetHandleByIndex_v2: { op: 'handleByIndex', run: () => call('handleByIndex', 0, ptr) },
    nvmlDeviceGetHandleByUUID: { op: 'handleByUuid', run: () => call('handleByUuid', uuid0, ptr) },
    nvmlDeviceGetUUID: { op: 'uuid', run: () => call('uuid', h, text, 96) },
    nvmlDeviceGetMemoryInfo_v2: {
      op: memoryOp,
      run: () => {
        memory.writeUInt32LE(NVML_MEMORY_V2_VERSION, 0);
        return call(memoryOp, h, memory);
      },
    },
    nvmlDeviceGetTemperature: { op: 'temperature', run: () => call('temperature', h, 0, u32) },
    nvmlDeviceGetTemperatureThreshold: { op: 'temperatureThreshold', run: () => call('temperatureThreshold', h, 1, u32) },
    nvmlDeviceGetPowerUsage: { op: 'powerUsage', run: () => call('powerUsage', h, u32) },
    nvmlDeviceGetEnforcedPowerLimit: { op: 'powerLimit', run: () => call('powerLimit', h, u32) },
    nvmlDeviceGetTotalEnergyConsumption: { op: 'energy', run: () => call('energy', h, u64) },
    nvmlDeviceGetMigMode: { op: 'migMode', run: () => call('migMode', h, u32, u32b) },
    nvmlDeviceGetUtilizationRates: { op: 'utilization', run: () => call('utilization', h, u32) },
    nvmlDeviceGetPerformanceState: { op: 'pstate', run: () => call('pstate', h, u32) },
    nvmlDeviceGetCurrentClocksEventReasons: { op: 'clockEvents', run: () => call('clockEvents', h, u64) },
    nvmlDeviceGetClockInfo: { op: 'clock', run: () => call('clock', h, 1, u32) },
    nvmlDeviceGetFanSpeed: { op: 'fan', run: () => call('fan', h, u32) },
    nvmlDeviceGetEccMode: { op: 'eccMode', run: () => call('eccMode', h, u32, u32b) },
    nvmlDeviceGetTotalEccErrors: { op: 'eccCount', run: () => call('eccCount', h, 1, 0, u64) },
    nvmlDeviceGetRemappedRows: { op: 'remappedRows', run: () => call('remappedRows', h, u32, u32b, u32c, u32d) },
    nvmlDeviceGetComputeRunningProcesses_v3: {
      op: processOp,
      run: () => {
        u32[0] = 64;
        return call(processOp, h, u32, processes);
      },
    },
  };

  const timer = measure(() => 0, job.ms, 1000);
  const calls: BindingResult['calls'] = [];
  for (const name of job.calls) {
    const { op, run } = invoke[name];
    const rc = run();
    calls.push({ fn: name, symbol: bound[op]?.symbol ?? null, rc, ...measure(run, job.ms, 100) });
  }
  call('shutdown');

  // ---- whole-GPU snapshots through NvmlLibrary, as the worker threads run them ---------------
  const statsBuffer = new SharedArrayBuffer(CallStatsWriter.byteLength(NVML_FUNCTIONS.length));
  const lib = NvmlLibrary.load({ libraryPath: job.library, statsBuffer });
  const plain = NvmlLibrary.load({ libraryPath: job.library });
  lib.init();
  plain.init();
  const uuids = lib.listDevices().flatMap((d) => ('uuid' in d ? [d.uuid] : []));
  plain.listDevices();
  const snapshots: Record<number, Summary> = {};
  const snapshotsNoStats: Record<number, Summary> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const n of job.snapshots) {
      const some = uuids.slice(0, n);
      snapshots[n] = better(snapshots[n], measure(() => some.forEach((u) => lib.sampleDevice(u)), job.ms / 2, 20));
      snapshotsNoStats[n] = better(snapshotsNoStats[n], measure(() => some.forEach((u) => plain.sampleDevice(u)), job.ms / 2, 20));
    }
  }

  let leak: BindingResult['leak'] = null;
  if (job.leakSeconds > 0) {
    const u = uuids[0]!;
    for (let i = 0; i < 2000; i++) lib.sampleDevice(u);
    gc();
    const before = memoryOf(process.pid).rssBytes;
    const end = performance.now() + job.leakSeconds * 1000;
    let count = 0;
    while (performance.now() < end) {
      for (let i = 0; i < 100; i++) lib.sampleDevice(u);
      count += 100;
    }
    gc();
    leak = { snapshots: count, seconds: job.leakSeconds, rssBeforeBytes: before, rssAfterBytes: memoryOf(process.pid).rssBytes };
  }
  plain.shutdown();

  // ---- the per-request design: init, query, shutdown (NVML's reference count back at 0) ------
  let cycle: Summary | null = null;
  lib.shutdown();
  if (job.cycleGpus > 0) {
    const some = uuids.slice(0, job.cycleGpus);
    cycle = measure(
      () => {
        lib.init();
        for (const u of some) lib.sampleDevice(u);
        lib.shutdown();
      },
      job.ms * 2,
      3,
    );
  }

  // ---- through the worker pool: what the service's event loop waits for ----------------------
  let threaded: BindingResult['threaded'] = null;
  if (job.threaded) {
    const client = new ThreadedNvmlClient({ libraryPath: job.library, defaultTimeoutMs: 10_000 });
    await client.init();
    const roundTrip = await measureAsync(() => client.sampleDevice(uuids[0]!), job.ms, 50);
    const byCount: Record<number, Summary> = {};
    for (let round = 0; round < ROUNDS; round++) {
      for (const n of job.snapshots) {
        const some = uuids.slice(0, n);
        byCount[n] = better(byCount[n], await measureAsync(() => Promise.all(some.map((u) => client.sampleDevice(u))), job.ms / 2, 20));
      }
    }
    await client.shutdown();
    await client.close();
    threaded = { roundTrip, snapshots: byCount };
  }

  return { library: lib.info.path, symbols: lib.symbols, timer, calls, snapshots, snapshotsNoStats, cycle, threaded, leak };
}

const job = JSON.parse(process.argv[2] ?? '{}') as BindingJob;
main(job).then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  },
  (error: unknown) => {
    process.stdout.write(`${JSON.stringify({ error: (error as Error).stack ?? String(error) })}\n`);
    process.exit(1);
  },
);

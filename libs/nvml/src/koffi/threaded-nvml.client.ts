import { Worker } from 'node:worker_threads';
import { type SerializedError, type TaskInfo, WorkerPool, workerScript } from '@app/worker-pool';
import { CallStatsReader, CallStatsWriter, type NvmlFunctionStats } from '../nvml.call-stats.js';
import { type NvmlEventListener, type NvmlEventWatch, NvmlClient } from '../nvml.client.js';
import {
  type NvmlCallError,
  NvmlError,
  NvmlLibraryLoadError,
  NvmlShutdownError,
  NvmlTimeoutError,
} from '../nvml.errors.js';
import type {
  NvmlCallOptions,
  NvmlDeviceEnumerationFailure,
  NvmlDeviceIdentity,
  NvmlDeviceSample,
  NvmlEvent,
  NvmlLibraryInfo,
  NvmlSystemInfo,
} from '../nvml.types.js';
import { NVML_FUNCTIONS } from './nvml.symbols.js';

/** Settings of a ThreadedNvmlClient. */
export interface ThreadedNvmlClientOptions {
  /** `NVML_LIBRARY_PATH`; null lets the dynamic loader find `libnvidia-ml.so.1`. */
  libraryPath: string | null;
  /** Deadline of a call when the caller gives none, ms. */
  defaultTimeoutMs: number;
  /** Worker threads that may run calls at once (threads stuck in a hung call not counted). */
  threads?: number;
  /** How long one `nvmlEventSetWait_v2` waits before checking for a stop request, ms. */
  eventWaitMs?: number;
}

/** What each worker thread is started with. */
export interface NvmlWorkerConfig {
  libraryPath: string | null;
  mode: 'calls' | 'events';
}

const STATS_BYTES = CallStatsWriter.byteLength(NVML_FUNCTIONS.length);

/**
 * NvmlClient over the koffi binding. Each call runs synchronously on a worker thread (never on
 * the event loop) with a deadline; calls for one GPU are single-flight (keyed by UUID), and a
 * call stuck in the driver keeps its thread while the pool replaces it, so a hung GPU can
 * neither block the others nor accumulate calls.
 */
export class ThreadedNvmlClient extends NvmlClient {
  private readonly pool: WorkerPool;
  private readonly reader = new CallStatsReader(NVML_FUNCTIONS);
  private readonly watches = new Set<EventWatch>();
  private readonly eventStats: SharedArrayBuffer[] = [];
  private refs = 0;
  private shutDown = false;
  /** The nvmlShutdown of the last reference, while it runs. */
  private stopping: Promise<void> | null = null;
  private info: NvmlLibraryInfo | null = null;

  constructor(private readonly options: ThreadedNvmlClientOptions) {
    super();
    this.pool = new WorkerPool({
      name: 'nvml',
      script: workerScript(import.meta.url, 'nvml.worker'),
      config: { libraryPath: options.libraryPath, mode: 'calls' } satisfies NvmlWorkerConfig,
      size: options.threads ?? 4,
      statsBytes: STATS_BYTES,
      decodeError,
      timeoutError: (task, timeoutMs, stillRunning) => this.timeoutError(task, timeoutMs, stillRunning),
    });
  }

  override async init(options?: NvmlCallOptions): Promise<NvmlLibraryInfo> {
    // A shutdown of the last reference that is still running ends first; NVML then starts again.
    if (this.stopping) await this.stopping.catch(() => undefined);
    if (this.refs === 0) {
      // Concurrent first calls share one nvmlInit_v2 (single flight on its key), and each of
      // them holds a reference once it succeeds.
      this.info = await this.pool.run<NvmlLibraryInfo>('init', [], { key: 'system:init', timeoutMs: this.timeout(options) });
      this.shutDown = false;
      // Start the other threads now, so no later deadline pays for a thread's start-up.
      this.pool.warm();
    }
    this.refs++;
    return this.info!;
  }

  override async shutdown(options?: NvmlCallOptions): Promise<void> {
    if (this.refs === 0) return;
    if (this.refs > 1) {
      this.refs--;
      return;
    }
    this.stopping ??= this.stopLast(options).finally(() => (this.stopping = null));
    return this.stopping;
  }

  override getSystemInfo(options?: NvmlCallOptions): Promise<NvmlSystemInfo> {
    return this.call('system', 'nvmlSystemGetDriverVersion', [], 'system:info', options);
  }

  override listDevices(options?: NvmlCallOptions): Promise<Array<NvmlDeviceIdentity | NvmlDeviceEnumerationFailure>> {
    return this.call('list', 'nvmlDeviceGetCount_v2', [], 'system:list', options);
  }

  override sampleDevice(uuid: string, options?: NvmlCallOptions): Promise<NvmlDeviceSample> {
    return this.call('sample', 'nvmlDeviceGetHandleByUUID', [uuid], `device:${uuid}`, options);
  }

  override async watchEvents(uuids: string[], eventTypes: number, listener: NvmlEventListener): Promise<NvmlEventWatch> {
    this.assertLive('nvmlEventSetCreate');
    const statsBuffer = new SharedArrayBuffer(STATS_BYTES);
    this.eventStats.push(statsBuffer);
    const watch = new EventWatch(
      this.options.libraryPath,
      statsBuffer,
      uuids,
      eventTypes,
      this.options.eventWaitMs ?? 500,
      listener,
      () => this.watches.delete(watch),
    );
    this.watches.add(watch);
    return watch.ready;
  }

  override callStats(): NvmlFunctionStats[] {
    return this.reader.summarize([...this.pool.statsBuffers(), ...this.eventStats]);
  }

  override libraryInfo(): NvmlLibraryInfo | null {
    return this.info;
  }

  override async close(): Promise<void> {
    await Promise.all([...this.watches].map((w) => w.stop()));
    await this.pool.close();
  }

  /** Keys of calls running or stuck now, e.g. `device:GPU-...` (for diagnostics and tests). */
  runningCalls(): string[] {
    return this.pool.runningKeys();
  }

  /** Runs worker task `op`; after the last shutdown it is refused, naming `fn`, the first NVML function it would call. */
  private call<T>(op: string, fn: string, args: unknown[], key: string, options?: NvmlCallOptions): Promise<T> {
    try {
      this.assertLive(fn);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return this.pool.run<T>(op, args, { key, timeoutMs: this.timeout(options) });
  }

  /** nvmlShutdown for the last reference, after stopping the event watches. */
  private async stopLast(options?: NvmlCallOptions): Promise<void> {
    await Promise.all([...this.watches].map((w) => w.stop()));
    try {
      await this.pool.run('shutdown', [], { key: 'system:shutdown', timeoutMs: this.timeout(options) });
    } finally {
      // The reference is given up even when nvmlShutdown fails (a broken driver answers 999),
      // so the next init() really calls nvmlInit_v2 again: that is how NVML recovers.
      this.refs = 0;
      this.shutDown = true;
    }
  }

  private assertLive(fn: string): void {
    if (this.shutDown) throw new NvmlShutdownError(fn);
  }

  private timeout(options?: NvmlCallOptions): number {
    return options?.timeoutMs ?? this.options.defaultTimeoutMs;
  }

  private timeoutError(task: TaskInfo, timeoutMs: number, stillRunning: boolean): NvmlTimeoutError {
    const blocked = task.statsBuffer ? this.reader.inFlight(task.statsBuffer) : null;
    const runningForMs = Date.now() - (blocked?.sinceMs ?? task.startedAtMs);
    const operation = task.key.startsWith('device:') ? `sample of ${task.key.slice(7)}` : task.key;
    return new NvmlTimeoutError(operation, stillRunning ? (blocked?.fn ?? null) : null, timeoutMs, runningForMs);
  }
}

/** One event watch on its own thread (it blocks in nvmlEventSetWait_v2 between stop checks). */
class EventWatch implements NvmlEventWatch {
  registered: string[] = [];
  unsupported: Record<string, NvmlCallError> = {};
  readonly ready: Promise<NvmlEventWatch>;
  private readonly worker: Worker;
  private readonly stopFlag = new Int32Array(new SharedArrayBuffer(4));
  private readonly stopped: Promise<void>;

  constructor(
    libraryPath: string | null,
    statsBuffer: SharedArrayBuffer,
    uuids: string[],
    eventTypes: number,
    waitMs: number,
    listener: NvmlEventListener,
    onGone: () => void,
  ) {
    const script = workerScript(import.meta.url, 'nvml.worker');
    this.worker = new Worker(script.url, {
      name: 'nvml-events',
      execArgv: script.execArgv,
      workerData: {
        config: { libraryPath, mode: 'events' } satisfies NvmlWorkerConfig,
        statsBuffer,
        events: { uuids, eventTypes, stop: this.stopFlag, waitMs },
      },
    });
    let started = false;
    this.ready = new Promise((resolve, reject) => {
      this.worker.on('message', (message: WorkerMessage) => {
        if (message.type === 'ready') {
          started = true;
          this.registered = message.registered;
          this.unsupported = message.unsupported;
          resolve(this);
        } else if (message.type === 'event') {
          listener.onEvent(message.event);
        } else if (message.type === 'error') {
          const error = decodeError(message.error);
          if (!started) reject(error);
          else listener.onError(error instanceof NvmlError ? error : new NvmlError(999, 'nvmlEventSetWait_v2', error.message));
        }
      });
      this.worker.on('error', (error) => (started ? listener.onError(new NvmlError(999, 'nvmlEventSetWait_v2', error.message)) : reject(error)));
    });
    this.stopped = new Promise((resolve) =>
      this.worker.once('exit', () => {
        onGone();
        resolve();
      }),
    );
    // A failed start leaves nothing to stop; the exit listener above cleans up.
    this.ready.catch(() => undefined);
  }

  async stop(): Promise<void> {
    Atomics.store(this.stopFlag, 0, 1);
    // The worker notices within one wait period; a driver stuck in the wait keeps it, so the
    // thread is unreferenced rather than awaited forever.
    const grace = new Promise<void>((resolve) => setTimeout(resolve, 5_000).unref());
    await Promise.race([this.stopped, grace]);
    this.worker.unref();
  }
}

type WorkerMessage =
  | { type: 'ready'; registered: string[]; unsupported: Record<string, NvmlCallError> }
  | { type: 'event'; event: NvmlEvent }
  | { type: 'error'; error: SerializedError }
  | { type: 'stopped' };

/** Rebuilds the binding's typed errors from what a worker sent. */
function decodeError(error: SerializedError): Error {
  const data = error.data as Record<string, unknown> | undefined;
  if (error.name === 'NvmlError' && data && typeof data.code === 'number') return NvmlError.from(data as unknown as NvmlCallError);
  if (error.name === 'NvmlLibraryLoadError' && data && Array.isArray(data.attempts)) {
    return new NvmlLibraryLoadError(data.attempts as NvmlLibraryLoadError['attempts']);
  }
  return Object.assign(new Error(error.message), { name: error.name });
}

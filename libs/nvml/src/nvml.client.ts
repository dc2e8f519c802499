import type { NvmlFunctionStats } from './nvml.call-stats.js';
import type { NvmlCallError, NvmlError } from './nvml.errors.js';
import type {
  NvmlCallOptions,
  NvmlDeviceEnumerationFailure,
  NvmlDeviceIdentity,
  NvmlDeviceSample,
  NvmlEvent,
  NvmlLibraryInfo,
  NvmlSystemInfo,
} from './nvml.types.js';

/** Receives what an event watch sees. */
export interface NvmlEventListener {
  onEvent(event: NvmlEvent): void;
  /** The watch failed (e.g. `nvmlEventSetWait_v2` returned NVML_ERROR_UNKNOWN) and has stopped. */
  onError(error: NvmlError): void;
}

/** A running event watch. */
export interface NvmlEventWatch {
  /** UUIDs registered for events. */
  registered: string[];
  /** UUIDs that could not be registered, with why (NOT_SUPPORTED on some parts). */
  unsupported: Record<string, NvmlCallError>;
  /** Stops watching and frees the event set (`nvmlEventSetFree`). */
  stop(): Promise<void>;
}

/**
 * The typed port to NVIDIA's management library: everything the service may ask NVML, as plain
 * data. Implementations: `ThreadedNvmlClient` (koffi, calls run on worker threads) and
 * `FakeNvmlClient` (`@app/nvml/testing`). Every method that reaches NVML takes a deadline and
 * rejects with `NvmlTimeoutError` when it passes; devices are addressed by UUID.
 */
export abstract class NvmlClient {
  /**
   * Loads `libnvidia-ml.so.1` on first use and calls `nvmlInit_v2` when no reference is held
   * (concurrent first calls share that call). Reference counted: each successful `init` holds
   * one reference and needs one `shutdown`.
   * @throws NvmlLibraryLoadError when the library cannot be loaded (paths tried, loader text).
   * @throws NvmlError e.g. NVML_ERROR_DRIVER_NOT_LOADED (9), NVML_ERROR_LIB_RM_VERSION_MISMATCH (18).
   * @throws NvmlTimeoutError
   */
  abstract init(options?: NvmlCallOptions): Promise<NvmlLibraryInfo>;

  /**
   * Releases one reference; the last one calls `nvmlShutdown` (once) and stops event watches.
   * Afterwards every call rejects with NvmlShutdownError without reaching NVML. The reference is
   * released even when `nvmlShutdown` fails or times out; the error is still thrown.
   * @throws NvmlError, NvmlTimeoutError
   */
  abstract shutdown(options?: NvmlCallOptions): Promise<void>;

  /**
   * Driver, NVML and CUDA driver versions.
   * @throws NvmlError, NvmlTimeoutError, NvmlShutdownError
   */
  abstract getSystemInfo(options?: NvmlCallOptions): Promise<NvmlSystemInfo>;

  /**
   * Every device NVML sees (`nvmlDeviceGetCount_v2`), in NVML index order, with static identity
   * and MIG devices; devices that cannot be read are returned as failures.
   * @throws NvmlError when the count fails, NvmlTimeoutError, NvmlShutdownError
   */
  abstract listDevices(options?: NvmlCallOptions): Promise<Array<NvmlDeviceIdentity | NvmlDeviceEnumerationFailure>>;

  /**
   * One sample of every dynamic reading of the GPU with this UUID. NVML return codes never
   * reject: unavailable readings are null with a reason; a lost device sets `failure`.
   * @throws NvmlTimeoutError (the call is still blocked in the driver), NvmlShutdownError
   */
  abstract sampleDevice(uuid: string, options?: NvmlCallOptions): Promise<NvmlDeviceSample>;

  /**
   * Watches `nvmlEventType*` events (`nvmlEventSetWait_v2`) of the given GPUs on a background
   * thread until stopped.
   * @throws NvmlError when the event set cannot be created, NvmlShutdownError
   */
  abstract watchEvents(uuids: string[], eventTypes: number, listener: NvmlEventListener): Promise<NvmlEventWatch>;

  /** Calls, errors by code and latency histogram of every NVML function called so far. */
  abstract callStats(): NvmlFunctionStats[];

  /** Library path and simulator description once `init` has loaded it; null before. */
  abstract libraryInfo(): NvmlLibraryInfo | null;

  /** Ends the client's threads. Call after the last `shutdown`. */
  abstract close(): Promise<void>;
}

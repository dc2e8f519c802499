// Worker thread entry: owns a synchronous NvmlLibrary and serves NvmlClient calls, or, in
// 'events' mode, loops on nvmlEventSetWait_v2 and posts what it receives.
import { parentPort, workerData } from 'node:worker_threads';
import { poolWorkerData, serializeError, serveTasks } from '@app/worker-pool';
import { NvmlLibrary } from './nvml.library.js';
import type { NvmlWorkerConfig } from './threaded-nvml.client.js';

const { config, statsBuffer } = poolWorkerData<NvmlWorkerConfig>();
let library: NvmlLibrary | null = null;
const lib = (): NvmlLibrary => (library ??= NvmlLibrary.load({ libraryPath: config.libraryPath, statsBuffer }));

if (config.mode === 'events') {
  watchEvents(workerData.events as EventsData);
} else {
  serveTasks({
    load: () => lib().info,
    init: () => {
      lib().init();
      return lib().info;
    },
    shutdown: () => lib().shutdown(),
    system: () => lib().systemInfo(),
    list: () => lib().listDevices(),
    sample: (uuid: string) => lib().sampleDevice(uuid),
    symbols: () => lib().symbols,
  });
}

interface EventsData {
  uuids: string[];
  eventTypes: number;
  /** [0] set to 1 by the main thread to stop. */
  stop: Int32Array;
  waitMs: number;
}

function watchEvents({ uuids, eventTypes, stop, waitMs }: EventsData): void {
  const port = parentPort!;
  let set: number;
  try {
    const created = lib().createEventSet(eventTypes, uuids);
    set = created.set;
    port.postMessage({ type: 'ready', registered: created.registered, unsupported: created.unsupported });
  } catch (error) {
    port.postMessage({ type: 'error', error: serializeError(error) });
    return;
  }
  try {
    while (Atomics.load(stop, 0) === 0) {
      const event = lib().waitEvent(set, waitMs);
      if (event) port.postMessage({ type: 'event', event });
    }
  } catch (error) {
    port.postMessage({ type: 'error', error: serializeError(error) });
  } finally {
    try {
      lib().freeEventSet(set);
    } catch {
      // The set dies with the driver state anyway.
    }
  }
  port.postMessage({ type: 'stopped' });
}

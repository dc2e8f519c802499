import { parentPort, workerData } from 'node:worker_threads';
import { EXIT_REQUEST, type SerializedError, type TaskReply } from './worker-pool.js';

/** What a pool worker receives as `workerData`. */
export interface PoolWorkerData<C> {
  config: C;
  statsBuffer: SharedArrayBuffer;
}

/** The data a pool gave this worker. */
export function poolWorkerData<C>(): PoolWorkerData<C> {
  return workerData as PoolWorkerData<C>;
}

/**
 * Serves tasks posted by a WorkerPool: each message names a handler and its arguments; the
 * handler runs synchronously (it may block in a C call) and its result or error is posted back.
 */
export function serveTasks(handlers: Record<string, (...args: never[]) => unknown>): void {
  if (!parentPort) throw new Error('serveTasks must run in a worker thread');
  const port = parentPort;
  port.on('message', ({ id, op, args }: { id: number; op: string; args: unknown[] }) => {
    if (op === EXIT_REQUEST.op) {
      port.close();
      return;
    }
    let reply: TaskReply;
    try {
      const handler = handlers[op];
      if (!handler) throw new Error(`unknown task ${op}`);
      reply = { id, ok: true, value: (handler as (...a: unknown[]) => unknown)(...args) };
    } catch (error) {
      reply = { id, ok: false, error: serializeError(error) };
    }
    port.postMessage(reply);
  });
}

/** An error as plain data: `toJSON()` output (if any) travels as `data`. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const withJson = error as Error & { toJSON?: () => unknown };
    return {
      name: error.name,
      message: error.message,
      data: typeof withJson.toJSON === 'function' ? withJson.toJSON() : { ...error },
    };
  }
  return { name: 'Error', message: String(error) };
}

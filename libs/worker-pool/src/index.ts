export { poolWorkerData, type PoolWorkerData, serializeError, serveTasks } from './serve-tasks.js';
export { type RunOptions, type SerializedError, type TaskInfo, WorkerPool, type WorkerPoolOptions } from './worker-pool.js';
export { type WorkerScript, workerScript } from './worker-script.js';

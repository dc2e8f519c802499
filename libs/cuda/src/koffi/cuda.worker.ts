// Worker thread entry: owns a synchronous CudaLibrary and serves CudaClient calls.
import { poolWorkerData, serveTasks } from '@app/worker-pool';
import { CudaLibrary } from './cuda.library.js';

const { config } = poolWorkerData<{ libraryPath: string | null }>();
let library: CudaLibrary | null = null;
const lib = (): CudaLibrary => (library ??= CudaLibrary.load(config.libraryPath));

serveTasks({
  inventory: () => ({ inventory: lib().inventory(), info: lib().info }),
  smokeTest: (ordinal: number, bytes: number) => ({ result: lib().smokeTest(ordinal, bytes), info: lib().info }),
});

import tsconfigPaths from 'vite-tsconfig-paths';
import { defineConfig } from 'vitest/config';

// Tiers (see shared STYLE): unit tests run on the TypeScript fake, integration tests on the
// native simulator library, e2e tests over HTTP, and the gpu project on a real driver.
export default defineConfig({
  plugins: [tsconfigPaths()],
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['src/**/*.spec.ts', 'libs/**/*.spec.ts', 'test/**/*.spec.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'int',
          include: ['test/**/*.int-spec.ts', 'libs/**/*.int-spec.ts'],
          globalSetup: ['libs/gpu-sim/test/global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        extends: true,
        // One file at a time: each starts service processes, and the load tests need the CPU.
        test: {
          name: 'e2e',
          include: ['test/**/*.e2e-spec.ts'],
          globalSetup: ['libs/gpu-sim/test/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: { name: 'gpu', include: ['test/gpu/**/*.gpu-spec.ts'], testTimeout: 60_000, fileParallelism: false },
      },
      {
        extends: true,
        test: { name: 'browser', include: ['test/browser/**/*.browser-spec.ts'], testTimeout: 120_000, hookTimeout: 120_000 },
      },
    ],
  },
});

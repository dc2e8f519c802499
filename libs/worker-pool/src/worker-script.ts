/** Where a worker's entry module is, and how Node must start it. */
export interface WorkerScript {
  url: URL;
  execArgv: string[];
}

/**
 * Locates the worker entry `name` next to the calling module (pass `import.meta.url`). Built code
 * runs `name.js`; when the caller runs from TypeScript sources (tests, benchmarks) the worker
 * runs `name.ts` through the `tsx` loader, a development dependency.
 */
export function workerScript(callerUrl: string, name: string): WorkerScript {
  if (callerUrl.endsWith('.ts')) return { url: new URL(`./${name}.ts`, callerUrl), execArgv: ['--import', 'tsx'] };
  return { url: new URL(`./${name}.js`, callerUrl), execArgv: [] };
}

import { exitNow, loadSharedLibrary } from '@app/ffi';
import { ConfigValidationError, loadGpuConfig, loadHttpConfig, validateEnvironment } from './config/index.js';
import { ExitCode } from './exit-codes.js';
import { libraryNotFound, refusalRecord, StartupRefusedError } from './gpu/gpu.startup.js';
import { rootLogger } from './logging/root-logger.js';

/**
 * Process entry. What can be refused without the framework is refused before it loads, so the
 * commonest failures (invalid configuration, no NVIDIA driver library in the container) exit
 * within a fraction of a second: configuration is validated, then the NVML library must be
 * loadable. Then Nest starts (bootstrap.ts), where the full GPU check runs.
 */
async function main(): Promise<void> {
  try {
    validateEnvironment(process.env);
  } catch (error) {
    if (!(error instanceof ConfigValidationError)) throw error;
    rootLogger().fatal({ reason: 'config_invalid', exitCode: ExitCode.CONFIG_INVALID, issues: error.issues }, error.message);
    exitNow(ExitCode.CONFIG_INVALID);
  }
  const http = loadHttpConfig(process.env);
  const logger = rootLogger(http);

  const { nvmlLibraryPath } = loadGpuConfig(process.env);
  const probe = loadSharedLibrary([nvmlLibraryPath ?? 'libnvidia-ml.so.1']);
  if ('attempts' in probe) {
    const refusal = new StartupRefusedError([libraryNotFound(probe.attempts)]);
    logger.fatal(refusalRecord(refusal), refusal.message);
    exitNow(refusal.exitCode);
  }
  probe.lib.unload();

  const { bootstrap } = await import('./bootstrap.js');
  await bootstrap(http, logger);
}

main().catch((error: unknown) => {
  rootLogger().fatal({ err: error, exitCode: ExitCode.UNEXPECTED }, `unexpected error: ${(error as Error).message}`);
  exitNow(ExitCode.UNEXPECTED);
});

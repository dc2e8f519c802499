import koffi from 'koffi';

let exit: ((code: number) => void) | null | undefined;

/**
 * Ends the process at once with `code` through libc's `_exit`. `process.exit` waits for every
 * worker thread to stop, and a thread blocked inside a hung driver call never stops, so the
 * process would outlive its own decision to exit. Only what was written synchronously before
 * survives (the service's logs are synchronous). Falls back to `process.exit` off glibc.
 */
export function exitNow(code: number): never {
  if (exit === undefined) {
    try {
      exit = koffi.load('libc.so.6').func('void _exit(int status)') as (code: number) => void;
    } catch {
      exit = null;
    }
  }
  if (exit) exit(code);
  process.exit(code);
}

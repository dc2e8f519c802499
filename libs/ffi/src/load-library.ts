import { readFileSync } from 'node:fs';
import koffi, { type LibraryHandle } from 'koffi';

/** One place the loader looked for a library, and what the loader said. */
export interface LibraryLoadAttempt {
  path: string;
  error: string;
}

/** A library that loaded, and the file the loader actually mapped. */
export interface LoadedLibrary {
  lib: LibraryHandle;
  path: string;
}

const STUB = /(^|\/)stubs\//;
const STUB_REFUSAL = 'refused: a CUDA toolkit stub library, not the driver';

/**
 * Loads the first of `candidates` the dynamic loader accepts (`dlopen`). A CUDA toolkit
 * `stubs/` copy is refused, whether named directly or found through the search path, since
 * it links but never talks to a driver. `accept` may reject a library that loaded (e.g. a
 * required symbol is missing) by returning the reason.
 * Returns the library, or every attempt with the loader's own text.
 */
export function loadSharedLibrary(
  candidates: readonly string[],
  accept: (lib: LibraryHandle) => string | null = () => null,
): LoadedLibrary | { attempts: LibraryLoadAttempt[] } {
  const attempts: LibraryLoadAttempt[] = [];
  for (const candidate of candidates) {
    if (STUB.test(candidate)) {
      attempts.push({ path: candidate, error: STUB_REFUSAL });
      continue;
    }
    let lib: LibraryHandle;
    try {
      lib = koffi.load(candidate);
    } catch (error) {
      attempts.push({ path: candidate, error: (error as Error).message });
      continue;
    }
    const base = candidate.slice(candidate.lastIndexOf('/') + 1).replace(/\.so.*$/, '.so');
    const path = candidate.includes('/') ? candidate : (mappedPath(base) ?? candidate);
    const refusal = STUB.test(path) ? STUB_REFUSAL : accept(lib);
    if (refusal) {
      lib.unload();
      attempts.push({ path, error: refusal });
      continue;
    }
    return { lib, path };
  }
  return { attempts };
}

/** Binds `prototype` or returns null when the library lacks the symbol. */
export function bindOptional<F = (...args: unknown[]) => unknown>(lib: LibraryHandle, prototype: string): F | null {
  try {
    return lib.func(prototype) as F;
  } catch {
    return null;
  }
}

/** The NUL-terminated string at the start of `buffer`. */
export function readCString(buffer: Buffer): string {
  const end = buffer.indexOf(0);
  return buffer.toString('latin1', 0, end < 0 ? buffer.length : end);
}

/** Reads the C string a `const char *` points to. */
export function decodeCString(pointer: bigint): string {
  return koffi.decode(pointer, 'char', -1) as string;
}

/** The file whose name starts with `prefix` in this process's memory map (Linux). */
function mappedPath(prefix: string): string | null {
  try {
    for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
      const slash = line.indexOf('/');
      if (slash < 0) continue;
      const path = line.slice(slash);
      if (path.slice(path.lastIndexOf('/') + 1).startsWith(prefix)) return path;
    }
  } catch {
    // Not Linux: the caller keeps the name the loader was given.
  }
  return null;
}

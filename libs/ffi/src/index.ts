export { bindOptional, decodeCString, type LibraryLoadAttempt, loadSharedLibrary, type LoadedLibrary, readCString } from './load-library.js';
export { exitNow } from './exit-now.js';

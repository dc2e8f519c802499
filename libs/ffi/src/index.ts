export { bindOptional, decodeCString, type LibraryLoadAttempt, loadSharedLibrary, type LoadedLibrary, readCString } from './load-library.js';

import { defineConfig } from 'vitest/config';

// The benchmark helpers' own tests (`npm run test:bench`): kept out of the service's test
// projects, since bench/ is never part of `make test`.
export default defineConfig({
  test: { name: 'bench', root: import.meta.dirname, include: ['**/*.spec.ts'] },
});

import { defineConfig } from 'vitest/config';

// Tests run against each package's TypeScript source (the `tabby-source` export condition), so a
// test never sees a stale build. `npm test` still builds first: bins and cross-process tests use dist.
const conditions = ['tabby-source', 'node', 'import', 'module', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', 'test/helpers/src/fixtures/**'],
    reporters: ['default', './test/helpers/src/summary-reporter.ts'],
    globalSetup: ['./test/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
  },
});

import { defineConfig } from 'vitest/config';

// Only for netns.test.ts: runs the deliberately failing fixture suite in a child vitest.
export default defineConfig({
  test: {
    include: ['src/fixtures/*.fixture.ts'],
    pool: 'forks',
    hookTimeout: 30_000,
  },
});

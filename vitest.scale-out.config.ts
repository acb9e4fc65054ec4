import { defineConfig } from 'vitest/config';

/**
 * Multi-process scale-out tests: `npm run test:scale-out`. Kept out of `npm test` while the
 * takeover of a killed process's partitions can repeat one checkpoint's output (issue #6).
 */
export default defineConfig({
  test: { include: ['test/scale-out/**/*.test.ts'], testTimeout: 600_000, hookTimeout: 120_000, pool: 'forks' },
});

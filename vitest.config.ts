import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The real-cluster Kafka suite runs only through `npm run test:kafka-real` (it needs KAFKA_BROKERS).
    // test/scale-out holds the two-process Kafka takeover test: it runs with `npm run test:scale-out`
    // until state handover closes the known duplicate window (issue #6), so it cannot flake CI.
    exclude: [...configDefaults.exclude, 'test/integration/**', 'test/scale-out/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});

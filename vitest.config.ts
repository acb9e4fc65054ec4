import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The real-cluster Kafka suite runs only through `npm run test:kafka-real` (it needs KAFKA_BROKERS).
    exclude: [...configDefaults.exclude, 'test/integration/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});

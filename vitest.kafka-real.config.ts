import { defineConfig } from 'vitest/config';

/** The Kafka suite against a real cluster: `KAFKA_BROKERS=host:9092 npm run test:kafka-real`. */
export default defineConfig({
  test: { include: ['test/integration/**/*.test.ts'], testTimeout: 600_000, hookTimeout: 120_000, pool: 'forks' },
});

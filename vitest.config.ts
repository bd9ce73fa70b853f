import { defineConfig } from 'vitest/config';

// One suite, three tiers told apart by folder (unit tests sit beside their module; tests that
// start real services live in test/integration; tests inside workerd live in test/workerd). What the
// tests share (the services harness, contract suites, fixtures) lives in test/support, never run itself.
// Files run in forked processes, two at a time: the machine has 2 cores and the integration
// tiers start real PostgreSQL, Redis, Prometheus and workerd processes of their own.
export default defineConfig({
  test: {
    include: ['api/**/*.test.ts', 'pushgateway/**/*.test.ts', 'drizzle/**/*.test.ts', 'monitoring/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    teardownTimeout: 30_000,
    // Under CI a JSON report is kept as well, so .ci/run can print one plain 'N passed, N failed' line.
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'test-results/vitest.json' }]] : ['default'],
    globalSetup: ['test/global-setup.ts'],
  },
});

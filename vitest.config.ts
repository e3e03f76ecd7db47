import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The machines have 2 cores: more workers only add contention.
    maxWorkers: 2,
    // The JSON report feeds the plain summary line printed by .ci/run.
    reporters: ['default', ['json', { outputFile: '.vitest/results.json' }]],
    projects: [
      {
        test: {
          name: 'fast',
          include: ['test/unit/**/*.test.ts', 'test/adapters/**/*.test.ts', 'test/handlers/**/*.test.ts'],
          testTimeout: 15_000,
        },
      },
      {
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'chaos',
          include: ['test/chaos/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/e2e/global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});

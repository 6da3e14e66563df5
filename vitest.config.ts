import { defineConfig } from 'vitest/config';

// CI asks for a JSON report beside the usual output (see .ci/run); `npm test` stays the same.
const json = process.env.HYPERLAB_VITEST_JSON;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    pool: 'forks',
    reporters: json ? ['default', 'json'] : ['default'],
    ...(json ? { outputFile: { json } } : {}),
  },
});

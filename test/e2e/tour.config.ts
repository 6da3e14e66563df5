// `npm run tour`: the screenshot tour (test/e2e/tour.ts), kept out of `npm test` — it asserts
// nothing; it leaves pictures in test-results/screenshots/ for a person to look at.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: '.',
    include: ['test/e2e/tour.ts'],
    environment: 'node',
    testTimeout: 900_000,
    hookTimeout: 120_000,
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // every record's times are checked to be >= 0 (verdict/classify.ts), in the CLIs the tests run too
    env: { PCAPDIAG_CHECK_TIMES: '1' },
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // two test files at once: Vitest's default is a core less than the machine has, which on this
    // project's 2-core machines ran the files one after the other (16.8 min of the CI's 18)
    maxWorkers: 2,
    // every record's times are checked to be >= 0, and a record described later to carry only
    // registered marks (verdict/classify.ts), in the CLIs the tests run too
    env: { PCAPDIAG_CHECK_TIMES: '1' },
    // toEqual with a symbol-keyed property holding undefined as Vitest documents it (test/setup/equality.ts)
    setupFiles: ['test/setup/equality.ts'],
  },
});

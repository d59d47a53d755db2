import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The CLI suites spawn real processes and a real Compose; give them room on a busy machine.
    testTimeout: 60_000,
    // Suites share the rig's servers, and one of them restarts Cassandra: run files one at a time.
    fileParallelism: false,
  },
});

import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 180_000,
    // Browser and server suites share ports and the one Next build; the unit suites are fast anyway.
    fileParallelism: true,
  },
})

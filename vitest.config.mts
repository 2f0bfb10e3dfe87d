import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 180_000,
    fileParallelism: true,
    // The JSON report lets .ci/run end with a plain "N passed, N failed" line that CI can read.
    reporters: ['default', ['json', { outputFile: 'test/.tmp/vitest-report.json' }]],
  },
})

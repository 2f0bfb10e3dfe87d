import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { defineConfig } from 'vitest/config'

/**
 * `edge-session/...` imports (the demo's, a README example's) resolve to the sources, as tsconfig.json's
 * `paths` say for the type checker: otherwise they would reach a stale or missing dist/.
 */
const tsconfig = ts.parseConfigFileTextToJson('tsconfig.json', readFileSync(new URL('./tsconfig.json', import.meta.url), 'utf8'))
const paths = (tsconfig.config as { compilerOptions: { paths: Record<string, [string]> } }).compilerOptions.paths
const alias = Object.entries(paths).map(([name, [target]]) => ({
  find: new RegExp(`^${name.replace(/[/.]/g, '\\$&')}$`),
  replacement: fileURLToPath(new URL(target, import.meta.url)),
}))

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['test/**/*.test.ts'],
    // A limit for hung tests, not a speed check: the browser suites share 2 cores with the runtime
    // matrix and the Django oracle, and one Chromium step can take several seconds under that load.
    testTimeout: 60_000,
    hookTimeout: 180_000,
    fileParallelism: true,
    // The JSON report lets .ci/run end with a plain "N passed, N failed" line that CI can read.
    reporters: ['default', ['json', { outputFile: 'test/.tmp/vitest-report.json' }]],
  },
})

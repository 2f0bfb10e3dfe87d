// @ts-check
/**
 * Mutation testing (`npm run mutate`, issue 15): are there tests that fail when the code is wrong?
 * Not part of `npm test`: every module at once is thousands of mutants, hours on a busy two-core machine.
 * Narrow it with `npm run mutate -- --mutate src/engines/upstash.ts`: the incremental file keeps the result
 * of every other file, and of every mutant whose code and covering tests did not change, so a rerun after a
 * small change only runs the mutants it touches. The latest per-file result is in docs/mutation.md.
 *
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'stryker.vitest.config.mts' },
  // Only the tests that ran a mutant's code run against it.
  coverageAnalysis: 'perTest',
  // A mutant reached only while modules load (a constant, the Lua scripts, the defaults object) would need
  // every suite re-run from scratch: about 20 s each, most of a run's time on this machine. They are left
  // out of the score; a mutant reached both at load time and inside a test is still run against that test.
  ignoreStatic: true,
  mutate: [
    'src/core/**/*.ts',
    'src/engines/**/*.ts',
    'src/revocation/**/*.ts',
    'src/users/**/*.ts',
    'src/snapshot/**/*.ts',
    'src/serializers/**/*.ts',
    'src/flash.ts',
  ],
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  // The machine is shared: one sandbox at a time by default; MUTATE_CONCURRENCY=2 when it is free.
  concurrency: Number(process.env.MUTATE_CONCURRENCY ?? 1),
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  // The sandbox copies the project: leave out what no fast suite reads (builds, benchmarks, the demo app).
  ignorePatterns: ['/dist', '/bench', '/app', '/.next*', '/test/.tmp', '/reports', '/docs'],
  thresholds: { high: 90, low: 80, break: null },
  // Generous: on a loaded machine a tight limit turns slow runs into "timed out", which counts as detected.
  timeoutMS: 10_000,
}

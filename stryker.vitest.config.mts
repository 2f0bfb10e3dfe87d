import { defineConfig } from 'vitest/config'

/**
 * The suites Stryker runs against each mutant (`npm run mutate`): those that exercise src/ in this process and
 * finish in seconds. Listed, not globbed, so a slow suite added later does not slow every mutant down: add a new
 * suite here when it is fast and tests something under `mutate` (stryker.config.mjs).
 * Left out on purpose: builds and browsers (test/e2e, test/runtimes); the Django differential and the CLI (child
 * processes per case); the testing kit's demo-app suite (it runs the built package in dist/, which no mutant
 * reaches); the edge-VM bundles (esbuild bundles the files on disk into another realm, where Stryker cannot switch
 * mutants on); src/lib's own suites (not mutated); and the checks that read source text rather than run it
 * (boundaries, readme, types). The setup file skips the tests that wait on the real clock.
 */
export default defineConfig({
  test: {
    include: [
      'conformance',
      'conformance-revocation',
      'conformance-upstash',
      'cookie-compression',
      'cookie-engine',
      'cookie-size-boundary',
      'cookie-verified-cache',
      'deletion-cookie',
      'device-label',
      'django-cookie',
      'django-signing-edges',
      'expiry-boundaries',
      'flash',
      'flash-cookie',
      'fuzz',
      'lifetime-boundaries',
      'lossless',
      'lossless-boundaries',
      'memory-engine',
      'next-adapter',
      'refresh',
      'refresh-contract',
      'revocable',
      'revocation',
      'revocation-lifetime',
      'revocation-store-replies',
      'schema',
      'serializer-refusals',
      'session',
      'session-key-generation',
      'session-method-errors',
      'session-move',
      'settings-validation',
      'snapshot',
      'snapshot-boundaries',
      'store-calls',
      'upstash-engine',
      'upstash-replies',
      'user-index-replies',
      'user-sessions',
    ].map((name) => `test/${name}.test.ts`),
    exclude: [],
    setupFiles: ['test/support/stryker-skip-slow.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    env: {
      // Enough generated cases to reach every branch the fuzzer aims at; `npm run fuzz` is the deep run.
      FUZZ_RUNS: '100',
      // A missing Redis must fail the run, not skip the Upstash suites and report their mutants as uncovered.
      CI: 'true',
    },
  },
})

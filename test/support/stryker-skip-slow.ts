import { beforeEach } from 'vitest'

/**
 * Setup file of the mutation run only (stryker.vitest.config.mts), which skips two kinds of test:
 * - those that wait on the real clock: they cover most of the core, so each surviving mutant there would sit
 *   through a minute of their sleeps. `npm test` runs them; the rules they pin are also tested on a fake clock.
 * - those that change the time zone (vi.stubEnv('TZ')): Stryker runs vitest in worker threads, which share the
 *   process's zone, so they fail there before any mutant is switched on.
 */
const SKIPPED =
  /\b(expiry-real-time|expiry-follows-store|lifetime-absolute|lifetime-idle|lifetime-browser-close|index-expired-entry):|a slow server \(over timeoutMs\)|whatever the server time zone/

beforeEach((context) => {
  if (SKIPPED.test(context.task.name) || SKIPPED.test(context.task.suite?.name ?? '')) context.skip()
})

/** The shared engine conformance suite, run on the Upstash engine against real Redis through the local REST server. */
import { afterAll, describe, expect, it } from 'vitest'
import { createSessionStore } from '../src/index.js'
import { upstashEngine } from '../src/engines/upstash.js'
import { runEngineConformance } from '../src/testing/index.js'
import { uniquePrefix, upstashFixture } from './support/upstash.js'

const fx = await upstashFixture()
afterAll(() => fx?.close())

runEngineConformance({
  name: 'upstashEngine()',
  // A fresh prefix per test: an empty store each time, on the same Redis.
  makeStore: (options) =>
    createSessionStore({ ...options, engine: upstashEngine({ redis: { url: fx!.server.url, token: fx!.server.token }, prefix: uniquePrefix('conf') }) }),
  describe: describe.skipIf(!fx),
  it,
  expect,
  capabilities: { serverSide: true, mergesConcurrentWrites: true },
})

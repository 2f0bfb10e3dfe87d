/**
 * Lifetime, revocation and user-index conformance on every engine: the memory and cookie engines (lifetime only),
 * the cookie engine with an Upstash revocation store, and the Upstash engine, on real Redis through the local
 * Upstash REST server.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { cookieEngine, createSessionStore, memoryEngine } from '../src/index.js'
import { upstashEngine } from '../src/engines/upstash.js'
import { upstashRevocation, type RevocationStore } from '../src/revocation/upstash.js'
import { runRevocationConformance } from '../src/testing/index.js'
import { uniquePrefix, upstashFixture } from './support/upstash.js'

const fx = await upstashFixture()
afterAll(() => fx?.close())
const redis = () => ({ url: fx!.server.url, token: fx!.server.token })

const revocation = () => upstashRevocation({ redis: redis(), prefix: uniquePrefix('rev-conf') })

// Lifetime only: these keep no per-user index.
for (const [name, engine] of [
  ['memoryEngine()', () => memoryEngine()],
  ['cookieEngine()', () => cookieEngine()],
] as const) {
  runRevocationConformance({
    name,
    makeStore: (options) => createSessionStore({ ...options, engine: engine() }),
    describe,
    it,
    expect,
    capabilities: { userIndex: false },
  })
}

// Every section, on real Redis through the local Upstash REST server.
for (const [name, engine] of [
  ['cookieEngine({ revocation: upstashRevocation() })', () => cookieEngine({ revocation: revocation() })],
  ['cookieEngine({ encrypt: true, revocation })', () => cookieEngine({ encrypt: true, revocation: revocation() })],
  ['upstashEngine()', () => upstashEngine({ redis: redis(), prefix: uniquePrefix('users-conf') })],
] as const) {
  runRevocationConformance({
    name,
    makeStore: (options) => createSessionStore({ ...options, engine: engine() }),
    describe: describe.skipIf(!fx),
    it,
    expect,
    capabilities: { userIndex: true },
  })
}

describe.skipIf(!fx)('runRevocationConformance itself', () => {
  /** Collects the suite's tests without running them, so the suite itself can be tested. */
  function collect(store: () => RevocationStore, userIndex = true) {
    const tests = new Map<string, () => Promise<void>>()
    const register = Object.assign((name: string, fn: () => Promise<void>) => void tests.set(name.split(':')[0]!, fn), { skip: () => {} })
    runRevocationConformance({
      name: 'self-test',
      makeStore: (options) => createSessionStore({ ...options, engine: cookieEngine({ revocation: store() }) }),
      describe: (_name, fn) => fn(),
      it: register,
      expect,
      capabilities: { userIndex },
    })
    return tests
  }

  it('fails a revocation store that forgets to end sessions, and passes a working one', async () => {
    const forgetful = (): RevocationStore => ({ ...revocation(), end: async () => {}, endCycled: async () => {} })
    const broken = collect(forgetful)
    for (const id of ['revoke-flush', 'revoke-cycle', 'index-end-one', 'index-end-all', 'index-password-change']) {
      await expect(broken.get(id)!()).rejects.toThrow()
    }
    await expect(collect(revocation).get('revoke-flush')!()).resolves.toBeUndefined()
  })

  it('fails an engine whose declared capabilities are wrong', async () => {
    await expect(collect(revocation, false).get('declares-index')!()).rejects.toThrow()
  })
})

import { describe, expect, it } from 'vitest'
import { cookieEngine, createSessionStore, memoryEngine, type EngineFactory } from '../src/index.js'
import { djangoCookieEngine } from '../src/engines/django-cookie.js'
import { conformanceTests, runEngineConformance } from '../src/testing/index.js'

runEngineConformance({
  name: 'memoryEngine()',
  makeStore: (options) => createSessionStore({ ...options, engine: memoryEngine() }),
  describe,
  it,
  expect,
  capabilities: { serverSide: true, mergesConcurrentWrites: true },
})

runEngineConformance({
  name: 'cookieEngine()',
  makeStore: (options) => createSessionStore({ ...options, engine: cookieEngine() }),
  describe,
  it,
  expect,
  capabilities: { serverSide: false, mergesConcurrentWrites: false },
})

runEngineConformance({
  name: 'cookieEngine({ encrypt: true })',
  makeStore: (options) => createSessionStore({ ...options, engine: cookieEngine({ encrypt: true }) }),
  describe,
  it,
  expect,
  capabilities: { serverSide: false, mergesConcurrentWrites: false },
})

runEngineConformance({
  name: 'djangoCookieEngine()',
  makeStore: (options) => createSessionStore({ ...options, engine: djangoCookieEngine() }),
  describe,
  it,
  expect,
  capabilities: { serverSide: false, mergesConcurrentWrites: false },
})

/** Collects the suite's tests without running them, so the suite itself can be tested. */
function collect(options: { engine: EngineFactory; skip?: Parameters<typeof runEngineConformance>[0]['skip'] }) {
  const tests = new Map<string, () => Promise<void>>()
  const skipped: string[] = []
  const register = Object.assign((name: string, fn: () => Promise<void>) => void tests.set(name.split(':')[0]!, fn), {
    skip: (name: string) => void skipped.push(name.split(':')[0]!),
  })
  runEngineConformance({
    name: 'self-test',
    makeStore: (settings) => createSessionStore({ ...settings, engine: options.engine }),
    describe: (_name, fn) => fn(),
    it: register,
    expect,
    capabilities: { serverSide: true, mergesConcurrentWrites: false },
    ...(options.skip ? { skip: options.skip } : {}),
  })
  return { tests, skipped }
}

/** A memory engine that brings deleted sessions back: what Django's UpdateError exists to prevent. */
const resurrecting: EngineFactory = (settings) => {
  const engine = memoryEngine()(settings)
  return { ...engine, save: async (key, write) => engine.save(key, write, { mustCreate: !(await engine.exists(key)) }) }
}

describe('runEngineConformance itself', () => {
  it('registers every test id once, skipping the ones whose capability is missing', () => {
    const { tests, skipped } = collect({ engine: memoryEngine() })
    expect([...tests.keys(), ...skipped].sort()).toEqual([...conformanceTests].sort())
    expect(skipped).toEqual(['expiry-follows-store', 'concurrent-writes', 'concurrent-nested-writes'])
  })

  it('fails an engine that resurrects a session deleted meanwhile', async () => {
    const { tests } = collect({ engine: resurrecting })
    await expect(tests.get('interrupted')!()).rejects.toThrow()
    await expect(tests.get('new-session')!()).resolves.toBeUndefined()
  })

  it('runs a skipped test as an expected failure, and fails it once it passes', async () => {
    const { tests } = collect({ engine: resurrecting, skip: { interrupted: 'resurrects', 'new-session': 'stale entry' } })
    await expect(tests.get('interrupted')!()).resolves.toBeUndefined()
    await expect(tests.get('new-session')!()).rejects.toThrow('"new-session" is listed in skip ("stale entry") but passes now: remove it from skip.')
  })

  it('refuses a skip entry that names no test', () => {
    expect(() => collect({ engine: memoryEngine(), skip: { nope: 'typo' } as never })).toThrow('skip lists "nope", which is not a test id')
  })
})

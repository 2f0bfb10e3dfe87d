/**
 * withSnapshot() at its edges (issue 15), in front of the memory engine so the store can be changed behind the
 * snapshot's back: the 4096-byte limit to the byte, the default and the capped trust period, what a loaded
 * snapshot hands back, and the calls passed to the store under the store key. test/snapshot.test.ts runs it in
 * front of Upstash on real Redis.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { EngineFactory } from '../src/core/engine.js'
import { commitSession, createSessionStore, serializeCookie, type SessionStore } from '../src/index.js'
import { memoryEngine } from '../src/engines/memory.js'
import { withSnapshot } from '../src/snapshot/index.js'
import { noise } from './support/noise.js'

const SECRET = 'snapshot boundaries secret, 32 bytes or more'
const T0 = Date.parse('2026-03-01T12:00:00Z')
const at = (seconds: number) => vi.setSystemTime(T0 + seconds * 1000)

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  at(0)
})
afterEach(() => void vi.useRealTimers())

/** The cookie value of a first save of `data`. */
async function signIn(store: SessionStore, data: Record<string, unknown>): Promise<string> {
  const session = store.open()
  await session.aupdate(data)
  const { cookie } = await commitSession(session, { hadCookie: false })
  return cookie!.value
}

/** Deletes the record in the store, leaving the cookie (and its snapshot) in the browser. */
async function deleteBehind(store: SessionStore, cookie: string): Promise<void> {
  await store.engine.delete(cookie)
}

describe('the snapshot size limit', () => {
  const data = { blob: noise(3000) }

  /**
   * The memory engine saving every new session under one key: the snapshot signs its store key, and a random one
   * would move the deflated token's length by a byte from run to run.
   */
  const oneKey: EngineFactory = (settings) => {
    const engine = memoryEngine()(settings)
    return { ...engine, save: (_key, write, options) => engine.save('k'.repeat(32), write, options) }
  }

  /** The Set-Cookie header a first save of `data` sends, for a cookie named `name`. */
  async function header(name: string): Promise<string> {
    const store = createSessionStore({ secret: SECRET, cookieName: name, engine: withSnapshot(oneKey) })
    const session = store.open()
    await session.aupdate(data)
    const { cookie } = await commitSession(session, { hadCookie: false })
    return serializeCookie(cookie!)
  }

  it('a cookie with its snapshot is issued up to a Set-Cookie of exactly 4096 bytes; one byte more gets the bare key', async () => {
    const base = await header('a')
    expect(base).toMatch(/^a=[a-z0-9]{32}\./)
    expect(base.length).toBeLessThan(4096)
    const fits = 'a'.repeat(1 + 4096 - base.length)
    const exact = await header(fits)
    expect(exact.length).toBe(4096)
    expect(exact).toMatch(new RegExp(`^${fits}=[a-z0-9]{32}\\.`))
    expect(await header(`${fits}a`)).toMatch(new RegExp(`^${fits}a=[a-z0-9]{32};`))
  })
})

describe('how long a snapshot is trusted', () => {
  it('30 seconds by default (from 0 to 29 after it was issued)', async () => {
    const store = createSessionStore({ secret: SECRET, engine: withSnapshot(memoryEngine()) })
    const cookie = await signIn(store, { a: 1 })
    await deleteBehind(store, cookie)
    at(29)
    expect(await store.open(cookie).aget('a')).toBe(1)
    at(30)
    expect(await store.open(cookie).aget('a')).toBeUndefined()
  })

  it('no longer than the session has left, when that is shorter than maxAge', async () => {
    const store = createSessionStore({ secret: SECRET, engine: withSnapshot(memoryEngine(), { maxAge: 30 }) })
    const session = store.open()
    await session.aset('a', 1)
    await session.asetExpiry(10)
    const { cookie } = await commitSession(session, { hadCookie: false })
    await deleteBehind(store, cookie!.value)
    at(9)
    expect(await store.open(cookie!.value).aget('a')).toBe(1)
    at(10)
    expect(await store.open(cookie!.value).aget('a')).toBeUndefined()
  })
})

describe('a session saved with no time left', () => {
  it.each([
    ['expiring this very second', 0],
    ['expired 5 seconds ago', -5],
  ])('gets no snapshot when %s: the cookie is the bare store key', async (_name, seconds) => {
    const store = createSessionStore({ secret: SECRET, engine: withSnapshot(memoryEngine()) })
    const session = store.open(await signIn(store, { a: 1 }))
    await session.asetExpiry(new Date(T0 + seconds * 1000))
    await session.asave()
    expect(session.sessionKey).toMatch(/^[a-z0-9]{32}$/)
  })
})

describe('what a snapshot loads as', () => {
  it('exactly the session data, without the store key it is signed for', async () => {
    const store = createSessionStore({ secret: SECRET, engine: withSnapshot(memoryEngine()) })
    const cookie = await signIn(store, { a: 1, b: 'two' })
    await deleteBehind(store, cookie)
    expect(await store.open(cookie).aitems()).toEqual([
      ['a', 1],
      ['b', 'two'],
    ])
  })
})

describe('calls passed to the store', () => {
  /** The memory engine with its exists() and clearExpired() calls recorded. */
  function spied() {
    const calls: [string, ...unknown[]][] = []
    const inner: EngineFactory = (settings) => {
      const engine = memoryEngine()(settings)
      return {
        ...engine,
        exists: async (key: string) => (calls.push(['exists', key]), engine.exists(key)),
        clearExpired: async () => void calls.push(['clearExpired']),
      }
    }
    return { store: createSessionStore({ secret: SECRET, engine: withSnapshot(inner) }), calls }
  }

  it('exists() asks the store about the store key of a cookie with a snapshot', async () => {
    const { store, calls } = spied()
    const cookie = await signIn(store, { a: 1 })
    const storeKey = cookie.split('.')[0]!
    expect(await store.engine.exists(cookie)).toBe(true)
    expect(await store.engine.exists(storeKey)).toBe(true)
    expect(calls).toEqual([
      ['exists', storeKey],
      ['exists', storeKey],
    ])
  })

  /** The memory engine with the second argument of each delete() recorded. */
  function deletes() {
    const hints: (ReadonlyMap<string, unknown> | undefined)[] = []
    const inner: EngineFactory = (settings) => {
      const engine = memoryEngine()(settings)
      return { ...engine, delete: async (key: string, known?: ReadonlyMap<string, unknown>) => (hints.push(known), engine.delete(key)) }
    }
    return { store: createSessionStore({ secret: SECRET, engine: withSnapshot(inner) }), hints }
  }

  it("delete() of a cookie whose data the request never loaded hands the store the fresh snapshot's data, and only that", async () => {
    const { store, hints } = deletes()
    const cookie = await signIn(store, { a: 1 })
    await store.engine.delete(cookie)
    // Not the store key the snapshot is signed for: the store gets the session's data as a load would give it.
    expect(hints).toEqual([new Map([['a', 1]])])
  })

  it('delete() hands the store what the request loaded when it did, without reading the snapshot', async () => {
    const { store, hints } = deletes()
    const cookie = await signIn(store, { a: 1 })
    const known = new Map([['a', 2]])
    await store.engine.delete(cookie, known)
    expect(hints).toEqual([known])
    expect(hints[0]).toBe(known)
  })

  it('delete() hands the store nothing for a bare key, a snapshot of another key, or a stale snapshot', async () => {
    const { store, hints } = deletes()
    const cookie = await signIn(store, { a: 1 })
    const storeKey = cookie.slice(0, cookie.indexOf('.'))
    const token = cookie.slice(cookie.indexOf('.') + 1)
    const other = (await signIn(store, { a: 2 })).split('.')[0]!
    await store.engine.delete(storeKey)
    await store.engine.delete(`${other}.${token}`)
    at(30)
    await store.engine.delete(cookie)
    expect(hints).toEqual([undefined, undefined, undefined])
  })

  it('clearExpired() is the store’s', async () => {
    const { store, calls } = spied()
    await store.engine.clearExpired()
    expect(calls).toEqual([['clearExpired']])
  })
})

describe('the engine around the store', () => {
  it('an explicit asave() of an unchanged session re-issues the snapshot, and the browser gets it', async () => {
    const store = createSessionStore({ secret: SECRET, engine: withSnapshot(memoryEngine()) })
    const cookie = await signIn(store, { a: 1 })
    at(20)
    const session = store.open(cookie)
    expect(await session.aget('a')).toBe(1)
    await session.asave()
    const { cookie: reissued } = await commitSession(session, { hadCookie: true })
    expect(reissued?.value).toMatch(/^[a-z0-9]{32}\./)
    expect(reissued!.value).not.toBe(cookie)
    // Trusted from its new issue time: the record gone, it still loads 29 s later.
    await deleteBehind(store, reissued!.value)
    at(49)
    expect(await store.open(reissued!.value).aget('a')).toBe(1)
  })

  it('a logout deletes the record in the store, not only the cookie', async () => {
    const store = createSessionStore({ secret: SECRET, engine: withSnapshot(memoryEngine()) })
    const cookie = await signIn(store, { a: 1 })
    await store.open(cookie).aflush()
    expect(await store.engine.exists(cookie.split('.')[0]!)).toBe(false)
  })

  it('wraps a store without cycle(): a new key is a new record and a new snapshot', async () => {
    const withoutCycle: EngineFactory = (settings) => {
      const { cycle: _cycle, ...engine } = memoryEngine()(settings)
      return engine
    }
    const store = createSessionStore({ secret: SECRET, engine: withSnapshot(withoutCycle) })
    expect(store.engine.cycle).toBeUndefined()
    const session = store.open(await signIn(store, { a: 1 }))
    await session.acycleKey()
    const { cookie } = await commitSession(session, { hadCookie: true })
    expect(await store.open(cookie!.value).aget('a')).toBe(1)
  })

  it('offers no user index for a store that keeps none', () => {
    const store = createSessionStore({ secret: SECRET, engine: withSnapshot(memoryEngine()) })
    expect(store.engine).not.toHaveProperty('users')
  })

  it('refuses an engine that keeps the session in the cookie, naming the engine option', () => {
    const signed: EngineFactory = (settings) => ({ ...memoryEngine()(settings), keyHoldsData: true })
    expect(() => createSessionStore({ secret: SECRET, engine: withSnapshot(signed) })).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_CONFIG', option: 'engine' }),
    )
    // The way out: which engines it is for.
    expect(() => createSessionStore({ secret: SECRET, engine: withSnapshot(signed) })).toThrow('server-side engines')
  })

  it('says what maxAge accepts when it refuses one', () => {
    expect(() => withSnapshot(memoryEngine(), { maxAge: -1 })).toThrow(expect.objectContaining({ option: 'snapshot.maxAge' }))
    expect(() => withSnapshot(memoryEngine(), { maxAge: -1 })).toThrow('whole number of seconds, 0 or more')
  })
})

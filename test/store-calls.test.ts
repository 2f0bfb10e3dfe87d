/**
 * Which store calls the core makes for a logout and for an untouched request: each one is a round trip on a
 * server-side engine (an Upstash request), so a wasted one costs every request that takes that path.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { commitSession, cookieEngine, createSessionStore, memoryEngine, type EngineFactory, type SessionEngine } from '../src/index.js'

const SECRET = 'store calls test secret, 32+ bytes!!'

afterEach(() => vi.useRealTimers())

/** The memory engine, recording the name of every method the core calls. */
function countingStore() {
  const calls: string[] = []
  const inner = memoryEngine()
  const engine: EngineFactory = (settings) => {
    const real = inner(settings)
    const record =
      <A extends unknown[], R>(name: string, fn: (...args: A) => Promise<R>) =>
      (...args: A) => {
        calls.push(name)
        return fn(...args)
      }
    const counted: SessionEngine = {
      load: record('load', real.load.bind(real)),
      save: record('save', real.save.bind(real)),
      delete: record('delete', real.delete.bind(real)),
      exists: record('exists', real.exists.bind(real)),
      clearExpired: record('clearExpired', real.clearExpired.bind(real)),
    }
    return counted
  }
  return { store: createSessionStore({ secret: SECRET, engine }), calls }
}

describe('store calls', () => {
  it('aflush() of a session that was never saved makes none', async () => {
    const { store, calls } = countingStore()
    const session = store.open()
    await session.aset('cart', ['tea'])
    await session.aflush()
    expect(calls).toEqual([])
    expect(session.sessionKey).toBeNull()
    expect(await session.akeys()).toEqual([])
  })

  it('aflush() of a stored session deletes it in one call, without loading it first', async () => {
    const { store, calls } = countingStore()
    const saved = store.open()
    await saved.aset('user', 'ada')
    await saved.asave()
    const key = saved.sessionKey!
    calls.length = 0
    const session = store.open(key)
    await session.aflush()
    expect(calls).toEqual(['delete'])
    expect(session.sessionKey).toBeNull()
    expect(await store.engine.exists(key)).toBe(false)
  })

  it('aflush() of a session whose unknown key was dropped at load deletes nothing more', async () => {
    const { store, calls } = countingStore()
    const session = store.open('not-a-stored-key-0123456789')
    expect(await session.aget('a')).toBeUndefined()
    expect(calls).toEqual(['load'])
    await session.aflush()
    expect(calls).toEqual(['load'])
  })

  it('commitSession() after an explicit asave() writes nothing more, unless a value changed in place since', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(new Date('2024-01-01T12:00:00.100Z'))
    const { store, calls } = countingStore()
    const session = store.open()
    await session.aset('cart', ['tea'])
    await session.asave()
    calls.length = 0
    const first = await commitSession(session, { hadCookie: false })
    expect(first.cookie?.value).toBe(session.sessionKey)
    expect(calls).toEqual([])
    ;((await session.aget('cart')) as string[]).push('scones')
    await commitSession(session, { hadCookie: true })
    expect(calls).toEqual(['save'])
    expect(await store.open(session.sessionKey).aget('cart')).toEqual(['tea', 'scones'])
  })

  it('a signed cookie is signed again by commitSession() after an explicit asave(): a change made in place since is in it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(new Date('2024-01-01T12:00:00.100Z'))
    const store = createSessionStore({ secret: SECRET, engine: cookieEngine() })
    const session = store.open()
    await session.aset('cart', ['tea'])
    await session.asave()
    ;((await session.aget('cart')) as string[]).push('scones')
    const { cookie } = await commitSession(session, { hadCookie: false })
    expect(await store.open(cookie!.value).aget('cart')).toEqual(['tea', 'scones'])
  })

  it("a second save from the same request merges: a key another request wrote in between stays", async () => {
    const { store } = countingStore()
    const first = store.open()
    await first.aset('a', 1)
    await first.asave()
    const key = first.sessionKey!
    await first.aset('b', 2)
    await first.asave()
    const other = store.open(key)
    await other.aset('c', 3)
    await other.asave()
    await first.aset('d', 4)
    await first.asave()
    expect(Object.fromEntries(await store.open(key).aitems())).toEqual({ a: 1, b: 2, c: 3, d: 4 })
  })

  it('a request that never touches the session makes none, even with a cookie', async () => {
    const { store, calls } = countingStore()
    const session = store.open('some-cookie-value-0123456789')
    expect(await session.aisEmpty()).toBe(false)
    expect(await commitSession(session, { hadCookie: true })).toEqual({ cookie: null, vary: false })
    expect(calls).toEqual([])
  })
})

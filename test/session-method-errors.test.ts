/**
 * What a refused call tells the developer: the method they called, by name. A read-only session (a Next.js server
 * component) names the write that cannot run there; a key that is not a string names the method it was given to.
 * And what a failed save or key cycle leaves behind: the engine's error as the cause, the session as it was.
 */
import { describe, expect, it } from 'vitest'
import { createSessionStore, memoryEngine, type EngineFactory, type SessionEngine } from '../src/index.js'
import { SessionInterrupted, SessionReadOnly, SessionStoreUnavailable, UpdateError } from '../src/errors.js'

const SECRET = 'session method errors secret, 32+ bytes'

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => null,
    (err: unknown) => err as Error,
  )
  if (!outcome) throw new Error('expected a rejection')
  return outcome
}

async function storedSession(engine: EngineFactory = memoryEngine()) {
  const store = createSessionStore({ secret: SECRET, engine })
  const session = store.open()
  await session.aupdate({ x: 1, testcookie: 'worked' })
  await session.asave()
  return { store, key: session.sessionKey! }
}

describe('a read-only session', () => {
  it('names each write method it refuses', async () => {
    const { store, key } = await storedSession()
    const s = store.open(key, { readOnly: true })
    const writes: [string, () => Promise<unknown>][] = [
      ['aset', () => s.aset('y', 1)],
      ['adelete', () => s.adelete('x')],
      ['apop', () => s.apop('x')],
      ['aupdate', () => s.aupdate({ y: 1 })],
      ['aupdate', () => s.aupdate({})],
      ['asetdefault', () => s.asetdefault('y', 1)],
      ['aclear', () => s.aclear()],
      // aflush() is aclear() and a delete: it names aclear.
      ['aclear', () => s.aflush()],
      ['acycleKey', () => s.acycleKey()],
      ['asave', () => s.asave()],
      ['asetExpiry', () => s.asetExpiry(60)],
      ['asetTestCookie', () => s.asetTestCookie()],
      ['adeleteTestCookie', () => s.adeleteTestCookie()],
    ]
    for (const [method, write] of writes) {
      const error = await rejection(write())
      expect(error).toBeInstanceOf(SessionReadOnly)
      expect(error.message).toMatch(new RegExp(`^session\\.${method}\\(\\) cannot run here`))
    }
    expect(() => {
      s.modified = true
    }).toThrow('session.modified() cannot run here')
    // Reading still works, and so does clearing the flag, which writes nothing.
    s.modified = false
    expect(s.modified).toBe(false)
    expect(await s.aget('x')).toBe(1)
    expect([s.readOnly, store.open(key).readOnly]).toEqual([true, false])
  })
})

describe('a key that is not a string', () => {
  it('is a TypeError naming the method and what it got, before anything is read', async () => {
    const { store, key } = await storedSession()
    const s = store.open(key)
    const calls: [string, () => Promise<unknown>][] = [
      ['aset', () => s.aset(1 as never, 1)],
      ['adelete', () => s.adelete(1 as never)],
      ['apop', () => s.apop(1 as never)],
      ['aupdate', () => s.aupdate({ [Symbol('k')]: 1 } as never)],
      ['asetdefault', () => s.asetdefault(null as never, 1)],
    ]
    for (const [method, call] of calls.slice(0, 3)) {
      const error = await rejection(call())
      expect(error).toBeInstanceOf(TypeError)
      expect(error.message).toBe(`session.${method}(): the key must be a string. Received number.`)
    }
    const error = await rejection(calls[4]![1]())
    expect(error.message).toBe('session.asetdefault(): the key must be a string. Received object.')
    expect(s.accessed).toBe(true)
  })
})

describe('a stored expiry of null', () => {
  it('is no expiry: browser-close follows the expireAtBrowserClose setting, as with none stored', async () => {
    for (const expireAtBrowserClose of [true, false]) {
      const store = createSessionStore({ secret: SECRET, engine: memoryEngine(), expireAtBrowserClose })
      const saved = store.open()
      await saved.aset('x', 1)
      await saved.asave()
      // A record written by another client (or by Django, which stores None) can hold null.
      const write = { data: new Map<string, unknown>([['_session_expiry', null]]), changed: new Set(['_session_expiry']), deleted: new Set<string>(), replace: false, expiryAge: 60, expiryAgeOf: () => 60 }
      await store.engine.save(saved.sessionKey!, write, { mustCreate: false })
      const s = store.open(saved.sessionKey)
      expect(await s.aget('_session_expiry' as never)).toBeNull()
      expect(await s.agetExpireAtBrowserClose()).toBe(expireAtBrowserClose)
    }
  })
})

describe('asetExpiry', () => {
  it('refuses an invalid Date and a value of another type, saying what it takes', async () => {
    const s = createSessionStore({ secret: SECRET, engine: memoryEngine() }).open()
    expect((await rejection(s.asetExpiry(new Date('nope')))).message).toBe('session.asetExpiry(): the Date is invalid.')
    for (const value of ['60', Number.NaN, Number.POSITIVE_INFINITY, true]) {
      const error = await rejection(s.asetExpiry(value as never))
      expect(error).toBeInstanceOf(TypeError)
      expect(error.message).toContain('takes a number of seconds, a Date, 0 (browser close) or null')
    }
  })
})

/** The memory engine, with `cycle` and `delete` replaced or removed as a test needs. */
function engineWith(change: (engine: SessionEngine) => Partial<SessionEngine> & { cycle?: SessionEngine['cycle'] | undefined }): EngineFactory {
  return (settings) => {
    const real = memoryEngine()(settings)
    const base: SessionEngine = {
      load: (k) => real.load(k),
      save: (k, w, o) => real.save(k, w, o),
      delete: (k) => real.delete(k),
      exists: (k) => real.exists(k),
      clearExpired: () => real.clearExpired(),
      cycle: (o, n, w) => real.cycle!(o, n, w),
    }
    return { ...base, ...change(base) }
  }
}

describe('a failed save or key cycle', () => {
  it('asave() of a session deleted meanwhile: SessionInterrupted caused by the UpdateError; what was read stays', async () => {
    const { store, key } = await storedSession()
    const s = store.open(key)
    expect(await s.aget('x')).toBe(1)
    await store.open(key).aflush()
    await s.aset('y', 2)
    const error = await rejection(s.asave())
    expect(error).toBeInstanceOf(SessionInterrupted)
    expect(error.cause).toBeInstanceOf(UpdateError)
    expect(s.sessionKey).toBe(key)
    expect(await s.aitems()).toEqual([
      ['x', 1],
      ['testcookie', 'worked'],
      ['y', 2],
    ])
  })

  it('acycleKey() racing a logout: SessionInterrupted caused by the UpdateError; a store failure stays what it is', async () => {
    const { store, key } = await storedSession()
    const s = store.open(key)
    await s.aget('x')
    await store.open(key).aflush()
    const error = await rejection(s.acycleKey())
    expect(error).toBeInstanceOf(SessionInterrupted)
    expect(error.cause).toBeInstanceOf(UpdateError)

    const down = new SessionStoreUnavailable('down for the test')
    const failing = await storedSession(engineWith(() => ({ cycle: () => Promise.reject(down) })))
    const t = failing.store.open(failing.key)
    await t.aget('x')
    expect(await rejection(t.acycleKey())).toBe(down)
  })

  it('an engine without cycle(): acycleKey() saves the new record, then deletes the old one', async () => {
    const { store, key } = await storedSession(engineWith(() => ({ cycle: undefined })))
    const s = store.open(key)
    await s.aget('x')
    await s.acycleKey()
    expect(s.sessionKey).not.toBe(key)
    expect(await store.engine.exists(key)).toBe(false)
    expect(await store.open(s.sessionKey).aget('x')).toBe(1)
  })

  it('asave() of a stored session asks the engine for an update, never a create', async () => {
    const options: unknown[] = []
    const { store, key } = await storedSession(engineWith((base) => ({ save: (k, w, o) => (options.push(o), base.save(k, w, o)) })))
    options.length = 0
    const s = store.open(key)
    await s.aset('y', 2)
    await s.asave()
    expect(options).toEqual([{ mustCreate: false }])
  })
})

/**
 * userSessions() (src/users/index.ts) on its own: the memory engine with a recording per-user index, so each call
 * is seen as what it asks the index: the user id rules, the label cut, a second login as the same user (kept) or
 * another (flushed), the absolute lifetime restarted at login, and what each call does for a signed-out session.
 * The revocation conformance suite runs the same calls on the engines that keep a real index.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { EngineFactory } from '../src/core/engine.js'
import { STARTED_KEY } from '../src/core/lifetime.js'
import { writeReserved, type Session, type SessionData } from '../src/core/session.js'
import { memoryEngine } from '../src/engines/memory.js'
import { SessionConfigError } from '../src/errors.js'
import { createSessionStore } from '../src/store.js'
import { DEVICE_KEY, USER_ID_KEY, userSessions, type UserSessionEntry, type UserSessionIndex } from '../src/users/index.js'

const SECRET = 'user sessions test secret, 32 bytes or more'

afterEach(() => void vi.useRealTimers())

type Call = [method: string, ...args: unknown[]]

function entry(id: string): UserSessionEntry {
  return { id, created: new Date(1000), lastSeen: new Date(2000), expires: new Date(3000), label: null }
}

/** A memory-engine store whose index lists the ids in `listed` (as they are when asked) and calls a session "id-<its key>". */
function setup(options: { listed?: string[]; lifetime?: { absolute: number } } = {}) {
  const calls: Call[] = []
  const listed = options.listed ?? []
  const index: UserSessionIndex = {
    sessionId: async (key) => (calls.push(['sessionId', key]), `id-${key}`),
    list: async (userId) => (calls.push(['list', userId]), listed.map(entry)),
    end: async (userId, which) => void calls.push(['end', userId, which]),
  }
  const engine: EngineFactory = (settings) => Object.assign(memoryEngine()(settings), { users: index })
  const store = createSessionStore({ secret: SECRET, engine, ...(options.lifetime ? { lifetime: options.lifetime } : {}) })
  return { store, users: userSessions(store), calls, listed }
}

const raw = (session: Session<object>) => session as unknown as Session<SessionData>

describe('userSessions', () => {
  it('refuses an engine without a per-user index, naming the engine option', () => {
    const store = createSessionStore({ secret: SECRET, engine: memoryEngine() })
    expect(() => userSessions(store)).toThrow(SessionConfigError)
    expect(() => userSessions(store)).toThrow(expect.objectContaining({ option: 'engine', code: 'ERR_SESSION_CONFIG' }))
    // The way out: the engines that keep one.
    expect(() => userSessions(store)).toThrow('upstashEngine(), or cookieEngine({ revocation: upstashRevocation() })')
  })

  it('refuses an index that lacks any of list, end and sessionId', () => {
    const full = { list: async () => [], end: async () => {}, sessionId: async () => null }
    for (const missing of ['list', 'end', 'sessionId'] as const) {
      const { [missing]: _gone, ...users } = full
      const engine: EngineFactory = (settings) => Object.assign(memoryEngine()(settings), { users })
      expect(() => userSessions(createSessionStore({ secret: SECRET, engine }))).toThrow(expect.objectContaining({ option: 'engine' }))
    }
    const engine: EngineFactory = (settings) => Object.assign(memoryEngine()(settings), { users: full })
    expect(() => userSessions(createSessionStore({ secret: SECRET, engine }))).not.toThrow()
  })
})

describe('alogin', () => {
  it('stores a user id as a string: a non-empty string, or a whole number within the safe range', async () => {
    const { store, users } = setup()
    for (const [id, stored] of [
      ['u1', 'u1'],
      [42, '42'],
      [0, '0'],
      [-7, '-7'],
      [Number.MAX_SAFE_INTEGER, String(Number.MAX_SAFE_INTEGER)],
    ] as const) {
      const session = store.open()
      await users.alogin(session, id)
      expect(await users.agetUserId(session)).toBe(stored)
    }
  })

  it('refuses an empty id, a fraction, NaN, an unsafe integer or another type, with TypeError, storing nothing', async () => {
    const { store, users } = setup()
    for (const id of ['', 1.5, NaN, Infinity, Number.MAX_SAFE_INTEGER + 1, null, undefined, {}, 10n]) {
      const session = store.open()
      await expect(users.alogin(session, id as string)).rejects.toThrow(TypeError)
      await expect(users.alogin(session, id as string)).rejects.toThrow('user id')
      expect(await users.agetUserId(session)).toBeNull()
    }
  })

  it('keeps a label cut to 100 characters, and none for an empty or missing label', async () => {
    const { store, users } = setup()
    const cut = store.open()
    await users.alogin(cut, 'u1', { label: 'L'.repeat(101) })
    expect(await raw(cut).aget(DEVICE_KEY)).toBe('L'.repeat(100))
    const exact = store.open()
    await users.alogin(exact, 'u1', { label: 'L'.repeat(100) })
    expect(await raw(exact).aget(DEVICE_KEY)).toBe('L'.repeat(100))
    for (const options of [{ label: '' }, {}, undefined]) {
      const none = store.open()
      await raw(none).aset('x', 1)
      await users.alogin(none, 'u1', options)
      expect(await raw(none).ahas(DEVICE_KEY)).toBe(false)
    }
  })

  it('a second login drops the earlier label', async () => {
    const { store, users } = setup()
    const session = store.open()
    await users.alogin(session, 'u1', { label: 'phone' })
    await users.alogin(session, 'u1')
    expect(await raw(session).ahas(DEVICE_KEY)).toBe(false)
  })

  it('signing in again as the same user keeps the data (a number id equal to the stored string counts as the same)', async () => {
    const { store, users } = setup()
    const session = store.open()
    await users.alogin(session, 42)
    await raw(session).aset('cart', ['book'])
    await users.alogin(session, '42')
    await users.alogin(session, 42)
    expect(await raw(session).aget('cart')).toEqual(['book'])
  })

  it("signing in as another user flushes the first user's data", async () => {
    const { store, users } = setup()
    const session = store.open()
    await users.alogin(session, 'u1')
    await raw(session).aset('cart', ['book'])
    await users.alogin(session, 'u2')
    expect(await raw(session).ahas('cart')).toBe(false)
    expect(await users.agetUserId(session)).toBe('u2')
  })

  it('gives the session a new key', async () => {
    const { store, users } = setup()
    const session = store.open()
    await raw(session).aset('x', 1)
    await session.asave()
    const before = session.sessionKey
    await users.alogin(session, 'u1')
    expect(session.sessionKey).not.toBeNull()
    expect(session.sessionKey).not.toBe(before)
  })

  it('restarts the absolute lifetime: the save after login stamps the login time', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: 1_700_000_000_000 })
    const { store, users } = setup({ lifetime: { absolute: 3600 } })
    const session = store.open()
    await raw(session).aset('x', 1)
    await session.asave()
    expect(await raw(session).aget(STARTED_KEY)).toBe(1_700_000_000)
    vi.setSystemTime(1_700_000_100_000)
    await users.alogin(session, 'u1')
    await session.asave()
    expect(await raw(store.open(session.sessionKey)).aget(STARTED_KEY)).toBe(1_700_000_100)
  })
})

describe('the other calls, signed in', () => {
  async function signedIn(listed: string[] = []) {
    const context = setup({ listed })
    const session = context.store.open()
    await context.users.alogin(session, 'u1')
    await session.asave()
    context.calls.length = 0
    return { ...context, session, me: `id-${session.sessionKey}` }
  }

  it('alist lists the index entries of the user, marking the one of this session as current, and only it', async () => {
    const { users, calls, session, me, listed } = await signedIn()
    listed.push('other', me)
    expect((await users.alist(session)).map((e) => [e.id, e.current])).toEqual([
      ['other', false],
      [me, true],
    ])
    expect(calls).toContainEqual(['list', 'u1'])
  })

  it("aend of another session ends it by id for this user; aend of this one is a logout", async () => {
    const { users, calls, session, me } = await signedIn()
    await users.aend(session, 'other')
    expect(calls.filter((c) => c[0] === 'end')).toEqual([['end', 'u1', { ids: ['other'] }]])
    await users.aend(session, me)
    expect(session.sessionKey).toBeNull()
    expect(calls.filter((c) => c[0] === 'end').length).toBe(1)
  })

  it('aendOthers ends all but this session; aendAll ends all and logs out', async () => {
    const { users, calls, session, me } = await signedIn()
    await users.aendOthers(session)
    expect(calls.at(-1)).toEqual(['end', 'u1', { allExcept: me }])
    await users.aendAll(session)
    expect(calls.at(-1)).toEqual(['end', 'u1', { allExcept: null }])
    expect(session.sessionKey).toBeNull()
  })

  it('aupdateSessionAuthHash cycles the key first, then ends all but the new one', async () => {
    const { users, calls, session } = await signedIn()
    const before = session.sessionKey
    await users.aupdateSessionAuthHash(session)
    expect(session.sessionKey).not.toBe(before)
    expect(calls.at(-1)).toEqual(['end', 'u1', { allExcept: `id-${session.sessionKey}` }])
    expect(await users.agetUserId(session)).toBe('u1')
  })

  it('aendAllForUser of a bad id rejects its promise (it threw before returning one), ending nothing', async () => {
    const { users, calls } = await signedIn()
    const settled = await Promise.allSettled(['', 1.5].map((id) => users.aendAllForUser(id)))
    expect(settled.map((s) => s.status === 'rejected' && s.reason instanceof TypeError)).toEqual([true, true])
    expect(calls).toEqual([])
  })

  it('aendAllForUser ends every session of the user given, a number as its string', async () => {
    const { users, calls } = await signedIn()
    await users.aendAllForUser(42)
    expect(calls).toEqual([['end', '42', { allExcept: null }]])
  })
})

describe('the calls on a signed-out session', () => {
  it('ask the index nothing, and change nothing but aendAll, which still logs out', async () => {
    const { store, users, calls } = setup()
    const session = store.open()
    await raw(session).aset('x', 1)
    await session.asave()
    const key = session.sessionKey
    expect(await users.agetUserId(session)).toBeNull()
    expect(await users.alist(session)).toEqual([])
    await users.aend(session, `id-${key}`)
    await users.aendOthers(session)
    await users.aupdateSessionAuthHash(session)
    expect(session.sessionKey).toBe(key)
    expect(calls).toEqual([])
    await users.aendAll(session)
    expect(calls).toEqual([])
    expect(session.sessionKey).toBeNull()
  })

  it('a user id stored as something else than a string is not a user', async () => {
    const { store, users } = setup()
    const session = store.open()
    await session[writeReserved](USER_ID_KEY, 42)
    expect(await users.agetUserId(session)).toBeNull()
  })

  it('alist of a signed-in session never saved asks for no current id', async () => {
    const { store, users, calls } = setup({ listed: ['a'] })
    const session = store.open()
    await session[writeReserved](USER_ID_KEY, 'u1')
    expect((await users.alist(session)).map((e) => e.current)).toEqual([false])
    expect(calls).toEqual([['list', 'u1']])
  })
})

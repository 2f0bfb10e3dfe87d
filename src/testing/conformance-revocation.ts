/**
 * Conformance for logout that logs out: the session lifetime (every engine), revocation and the per-user
 * session index (engines that keep one: the Upstash engine, the cookie engine with a revocation store).
 * Same conventions as `runEngineConformance`: the test runner is injected, tests have stable ids.
 *
 * @module
 */
import { commitSession } from '../core/http.js'
import { STARTED_KEY } from '../core/lifetime.js'
import { writeReserved, type Session, type SessionData } from '../core/session.js'
import type { SessionOptions } from '../core/settings.js'
import { SessionInterrupted } from '../errors.js'
import type { SessionStore } from '../store.js'
import { hasUserIndex } from '../users/contract.js'
import { userSessions, type UserSessions } from '../users/index.js'
import type { ConformanceOptions } from './conformance.js'

export interface RevocationConformanceCapabilities {
  /**
   * The engine keeps a per-user session index (`engine.users`), so logout, key cycling and "end session" make
   * every copy of the old key stop loading. Declared, then checked: a store that says so must have one.
   */
  userIndex: boolean
}

/** As for `runEngineConformance`; `makeStore` also receives a `lifetime` to pass on. */
export interface RevocationConformanceOptions extends Omit<ConformanceOptions, 'capabilities' | 'skip'> {
  capabilities: RevocationConformanceCapabilities
}

export const revocationConformanceTests = [
  'lifetime-absolute',
  'lifetime-cap-written',
  'lifetime-idle',
  'lifetime-browser-close',
  'declares-index',
  'revoke-flush',
  'revoke-cycle',
  'revoke-clear',
  'revoke-save-race',
  'index-login',
  'index-login-other-user',
  'index-end-one',
  'index-end-foreign',
  'index-end-others',
  'index-end-all',
  'index-password-change',
  'index-end-all-during-login',
  'index-expired-entry',
  'index-cycle-unloaded',
  'index-flush-read',
  'index-cycle-race',
] as const

export type RevocationConformanceTestId = (typeof revocationConformanceTests)[number]

const TEST_SECRET = 'edge-session conformance secret!'
/** Longer than one whole second of store resolution (Redis TTLs, the cookie's `exp`). */
const SECOND_AND_A_BIT = 1100
/** Over 64 bytes, as users store. */
const PROFILE = { name: 'Ada Lovelace', email: 'ada@example.com', note: 'a value longer than sixty-four bytes, as sessions hold'.padEnd(90, '.') }

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Registers the lifetime, revocation and user-index sections. The last two run when `capabilities.userIndex`
 * is true and are registered as skipped otherwise.
 *
 * Exported from `edge-session/testing`.
 *
 * @example
 * ```ts
 * runRevocationConformance({
 *   name: 'my engine', describe, it, expect,
 *   makeStore: (options) => createSessionStore({ ...options, engine: myEngine() }),
 *   capabilities: { userIndex: false },
 * })
 * ```
 */
export function runRevocationConformance(options: RevocationConformanceOptions): void {
  const { describe, it, expect, capabilities } = options
  const open = async (extra: SessionOptions = {}): Promise<SessionStore> => options.makeStore({ secret: TEST_SECRET, ...extra })

  const test = (id: RevocationConformanceTestId, title: string, fn: () => Promise<void>, needsIndex = false, timeout?: number) => {
    const name = `${id}: ${title}`
    if (needsIndex && !capabilities.userIndex) it.skip?.(`${name} (not applicable: userIndex is false)`, fn)
    else it(name, fn, timeout)
  }

  /** A store with its user calls, and a helper that signs a new "device" in as `userId`. */
  const withUsers = async (extra: SessionOptions = {}) => {
    const store = await open(extra)
    const users = userSessions(store)
    const login = async (userId: string, label = 'Firefox on Linux'): Promise<Session> => {
      const session = store.open()
      await session.aset('profile', PROFILE)
      await users.alogin(session, userId, { label })
      return session
    }
    return { store, users, login }
  }

  const loads = async (store: SessionStore, key: string | null): Promise<boolean> => (await store.open(key).aget('profile')) !== undefined
  const ids = async (users: UserSessions, session: Session) => (await users.alist(session)).map((entry) => entry.id).sort()

  describe(`lifetime conformance: ${options.name}`, () => {
    test(
      'lifetime-absolute',
      'ASVS 3.3.2: the absolute lifetime ends a session that keeps sliding, and is not extended by saves',
      async () => {
        // Whole seconds, as stored: a 4-second lifetime started up to a second before the first save.
        const store = await open({ lifetime: { absolute: 4 } })
        const session = store.open()
        await session.aset('profile', PROFILE)
        await session.asave()
        const started = await (session as Session<SessionData>).aget(STARTED_KEY)
        expect(typeof started).toBe('number')
        await sleep(SECOND_AND_A_BIT)
        // A sliding refresh: the same record saved again, its expiry restarted, the absolute start kept.
        const slid = store.open(session.sessionKey)
        expect(await slid.aget('profile')).toEqual(PROFILE)
        slid.modified = true
        await slid.asave()
        expect(await (slid as Session<SessionData>).aget(STARTED_KEY)).toBe(started)
        expect(await loads(store, slid.sessionKey)).toBe(true)
        await sleep(SECOND_AND_A_BIT + 2100)
        expect(await loads(store, slid.sessionKey)).toBe(false)
      },
      false,
      10_000,
    )

    test('lifetime-cap-written', 'a save never gives a record an expiry past its absolute lifetime', async () => {
      const store = await open({ lifetime: { absolute: 3600 } })
      const session = store.open()
      await session.aset('profile', PROFILE)
      await session.asave()
      // Started two hours ago: the save below must not give it the two weeks of its expiry age.
      await session[writeReserved](STARTED_KEY, Math.floor(Date.now() / 1000) - 7200)
      await session.asave()
      expect(await loads(store, session.sessionKey)).toBe(false)
    })

    for (const [id, title, expiry] of [
      ['lifetime-idle', 'ASVS 3.3.2: the idle timeout ends a session not saved for that long, even with a long expiry', 3600],
      ['lifetime-browser-close', 'a browser-close session ends on the server at the idle timeout', 0],
    ] as const) {
      test(
        id,
        title,
        async () => {
          const store = await open({ lifetime: { idle: 1 } })
          const session = store.open()
          await session.aset('profile', PROFILE)
          await session.asetExpiry(expiry)
          await session.asave()
          expect(await loads(store, session.sessionKey)).toBe(true)
          await sleep(SECOND_AND_A_BIT + 1000)
          expect(await loads(store, session.sessionKey)).toBe(false)
        },
        false,
        10_000,
      )
    }
  })

  describe(`revocation conformance: ${options.name}`, () => {
    test('declares-index', 'the engine keeps a per-user index exactly when it says so', async () => {
      expect(hasUserIndex((await open()).engine)).toBe(capabilities.userIndex)
    })

    test(
      'revoke-flush',
      'ASVS 3.3.1: after aflush() a copy of the signed-in key taken before loads as an empty session',
      async () => {
        const { store, login } = await withUsers()
        const session = await login('u1')
        const copy = session.sessionKey
        expect(await loads(store, copy)).toBe(true)
        await store.open(copy).aflush()
        expect(await loads(store, copy)).toBe(false)
        expect(store.open(copy).sessionKey).toBe(copy)
      },
      true,
    )

    test(
      'revoke-cycle',
      'after acycleKey() the old key stops loading and the new one keeps the data',
      async () => {
        const { store, login } = await withUsers()
        const session = await login('u1')
        const old = session.sessionKey
        await session.acycleKey()
        expect(await loads(store, old)).toBe(false)
        expect(await store.open(session.sessionKey).aget('profile')).toEqual(PROFILE)
      },
      true,
    )

    test(
      'revoke-clear',
      'after aclear() and a save, the earlier copy of the key is not signed in any more',
      async () => {
        const { store, users, login } = await withUsers()
        const session = await login('u1')
        const copy = session.sessionKey
        await session.aclear()
        await session.aset('profile', { ...PROFILE, name: 'anonymous again' })
        await session.asave()
        expect(await users.agetUserId(store.open(copy))).toBeNull()
        expect(await users.agetUserId(store.open(session.sessionKey))).toBeNull()
      },
      true,
    )

    test(
      'revoke-save-race',
      'a save racing the end of its session is refused with SessionInterrupted and does not bring it back',
      async () => {
        const { store, users, login } = await withUsers()
        const session = await login('u1')
        const racing = store.open(session.sessionKey)
        await racing.aget('profile')
        await users.aendAllForUser('u1')
        await racing.aset('profile', { ...PROFILE, name: 'changed' })
        const error = await racing.asave().then(
          () => null,
          (err: unknown) => err,
        )
        expect(error).toBeInstanceOf(SessionInterrupted)
        expect(await loads(store, session.sessionKey)).toBe(false)
        expect((await users.alist(await login('u1'))).map((entry) => entry.current)).toEqual([true])
      },
      true,
    )
  })

  describe(`user index conformance: ${options.name}`, () => {
    test(
      'index-login',
      "ASVS 3.3.4: alogin binds the session under Django's _auth_user_id, with a new key, listed as this device",
      async () => {
        const { store, users } = await withUsers()
        const session = store.open()
        await session.aset('profile', PROFILE)
        await session.asave()
        const before = session.sessionKey
        const start = Date.now()
        await users.alogin(session, 42, { label: 'Safari on iPhone' })
        expect(session.sessionKey).not.toBe(before)
        expect(await users.agetUserId(session)).toBe('42')
        expect(await (session as Session<SessionData>).aget('_auth_user_id')).toBe('42')
        const [entry, ...rest] = await users.alist(store.open(session.sessionKey))
        expect(rest).toEqual([])
        expect(entry!.current).toBe(true)
        expect(entry!.label).toBe('Safari on iPhone')
        expect(entry!.created.getTime() >= start - 1000 && entry!.created.getTime() <= Date.now()).toBe(true)
        expect(entry!.lastSeen.getTime() >= entry!.created.getTime()).toBe(true)
        expect(entry!.expires.getTime() > Date.now() + (store.settings.cookieAge - 60) * 1000).toBe(true)
      },
      true,
    )

    test(
      'index-login-other-user',
      "signing in as another user flushes the first user's data and session",
      async () => {
        const { store, users, login } = await withUsers()
        const session = await login('u1')
        const first = session.sessionKey
        await users.alogin(session, 'u2')
        expect(await session.aget('profile')).toBeUndefined()
        expect(await loads(store, first)).toBe(false)
        expect(await users.agetUserId(session)).toBe('u2')
        expect((await users.alist(session)).length).toBe(1)
      },
      true,
    )

    test(
      'index-end-one',
      'ASVS 3.3.4: ending one session by id ends every copy of it, and only it',
      async () => {
        const { store, users, login } = await withUsers()
        const [phone, laptop, tablet] = [await login('u1', 'phone'), await login('u1', 'laptop'), await login('u1', 'tablet')]
        const listed = await users.alist(laptop)
        expect(listed.map((entry) => entry.label)).toEqual(['phone', 'laptop', 'tablet'])
        expect(listed.filter((entry) => entry.current).map((entry) => entry.label)).toEqual(['laptop'])
        await users.aend(laptop, listed[0]!.id)
        expect(await loads(store, phone.sessionKey)).toBe(false)
        expect(await loads(store, laptop.sessionKey)).toBe(true)
        expect(await loads(store, tablet.sessionKey)).toBe(true)
        expect((await users.alist(laptop)).map((entry) => entry.label)).toEqual(['laptop', 'tablet'])
        // Ending this device is a logout.
        await users.aend(laptop, listed[1]!.id)
        expect(laptop.sessionKey).toBeNull()
        expect(await loads(store, listed[1]!.id)).toBe(false)
      },
      true,
    )

    test(
      'index-end-foreign',
      "a user cannot end another user's session by its id",
      async () => {
        const { store, users, login } = await withUsers()
        const victim = await login('victim')
        const [entry] = await users.alist(victim)
        const attacker = await login('attacker')
        await users.aend(attacker, entry!.id)
        expect(await loads(store, victim.sessionKey)).toBe(true)
        expect(await ids(users, victim)).toEqual([entry!.id])
      },
      true,
    )

    test(
      'index-end-others',
      'ASVS 3.3.4: "sign out other devices" ends every other session and keeps this one',
      async () => {
        const { store, users, login } = await withUsers()
        const others = [await login('u1'), await login('u1')]
        const me = await login('u1')
        const stranger = await login('u2')
        await users.aendOthers(me)
        for (const other of others) expect(await loads(store, other.sessionKey)).toBe(false)
        expect(await loads(store, me.sessionKey)).toBe(true)
        expect(await loads(store, stranger.sessionKey)).toBe(true)
        expect((await users.alist(me)).map((entry) => entry.current)).toEqual([true])
      },
      true,
    )

    test(
      'index-end-all',
      'ASVS 3.3.4: "log out everywhere" ends every session of the user, this one included',
      async () => {
        const { store, users, login } = await withUsers()
        const other = await login('u1')
        const me = await login('u1')
        const copy = me.sessionKey
        await users.aendAll(me)
        expect(me.sessionKey).toBeNull()
        expect(await loads(store, copy)).toBe(false)
        expect(await loads(store, other.sessionKey)).toBe(false)
        expect(await users.alist(store.open(copy))).toEqual([])
      },
      true,
    )

    test(
      'index-password-change',
      "ASVS 3.3.3: aupdateSessionAuthHash keeps this session on a new key and ends every other at once (differs from Django: no _auth_user_hash)",
      async () => {
        const { store, users, login } = await withUsers()
        const other = await login('u1')
        const me = await login('u1')
        const old = me.sessionKey
        await users.aupdateSessionAuthHash(me)
        expect(me.sessionKey).not.toBe(old)
        expect(await loads(store, old)).toBe(false)
        expect(await loads(store, other.sessionKey)).toBe(false)
        expect(await store.open(me.sessionKey).aget('profile')).toEqual(PROFILE)
        const listed = await users.alist(store.open(me.sessionKey))
        expect(listed.map((entry) => entry.current)).toEqual([true])
      },
      true,
    )

    test(
      'index-cycle-race',
      "a request still holding the signed-in key that a concurrent password change cycled loads nothing, gets no deletion cookie (which would sign the browser out) and cannot write",
      async () => {
        const { store, users, login } = await withUsers()
        const me = await login('u1')
        const old = me.sessionKey
        const reader = store.open(old)
        const writer = store.open(old)
        await users.aupdateSessionAuthHash(me)
        expect(await loads(store, old)).toBe(false)
        expect(await reader.aget('profile')).toBeUndefined()
        expect(await commitSession(reader, { hadCookie: true })).toEqual({ cookie: null, vary: true })
        await writer.aset('theme', 'dark')
        const error = await commitSession(writer, { hadCookie: true }).then(
          () => null,
          (err: unknown) => err,
        )
        expect(error).toBeInstanceOf(SessionInterrupted)
        expect(await store.open(me.sessionKey).aget('profile')).toEqual(PROFILE)
        expect((await users.alist(store.open(me.sessionKey))).map((entry) => entry.current)).toEqual([true])
        // A logout is not a cycle: a request holding the ended key gets the deletion cookie.
        const copy = me.sessionKey
        const late = store.open(copy)
        await me.aflush()
        expect(await late.aget('profile')).toBeUndefined()
        expect((await commitSession(late, { hadCookie: true })).cookie?.maxAge).toBe(0)
      },
      true,
    )

    test(
      'index-end-all-during-login',
      'logout-everywhere racing logins: afterwards every listed session loads and every session that loads is listed',
      async () => {
        const { store, users, login } = await withUsers()
        await login('u1')
        const keys: (string | null)[] = []
        for (let round = 0; round < 5; round++) {
          const racers = await Promise.all([
            users.aendAllForUser('u1').then(() => null),
            login('u1').then((s) => s.sessionKey),
            login('u1').then((s) => s.sessionKey),
          ])
          keys.push(...racers.filter((key) => key !== null))
        }
        const live: string[] = []
        for (const key of keys) if (await loads(store, key)) live.push(key!)
        const probe = await login('u1')
        const listed = (await users.alist(probe)).filter((entry) => !entry.current)
        expect(listed.length).toBe(live.length)
        for (const key of live) {
          const id = store.engine && hasUserIndex(store.engine) ? await store.engine.users.sessionId(key) : null
          expect(listed.map((entry) => entry.id)).toContain(id)
        }
      },
      true,
      20_000,
    )

    test(
      'index-expired-entry',
      'the entry of an expired session is neither listed nor loadable, and is pruned without a sweeper',
      async () => {
        const { store, users, login } = await withUsers()
        const short = await login('u1')
        await short.asetExpiry(1)
        await short.asave()
        const me = await login('u1')
        expect((await users.alist(me)).length).toBe(2)
        await sleep(SECOND_AND_A_BIT + 1000)
        expect(await loads(store, short.sessionKey)).toBe(false)
        const listed = await users.alist(me)
        expect(listed.map((entry) => entry.current)).toEqual([true])
      },
      true,
      10_000,
    )

    test(
      'index-cycle-unloaded',
      'acycleKey() of a signed-in session not loaded yet moves its entry to the new key, label kept; the old key stops loading',
      async () => {
        const { store, users, login } = await withUsers()
        const moved = await login('u1', 'Safari on iOS')
        const me = await login('u1')
        const old = moved.sessionKey
        const request = store.open(old)
        await request.acycleKey()
        await request.asave()
        expect(await loads(store, old)).toBe(false)
        expect(await users.agetUserId(store.open(request.sessionKey))).toBe('u1')
        const listed = await users.alist(store.open(request.sessionKey))
        expect(listed.map((entry) => `${entry.current}: ${entry.label}`).sort()).toEqual(['false: Firefox on Linux', 'true: Safari on iOS'])
        expect((await users.alist(me)).filter((entry) => entry.current).length).toBe(1)
      },
      true,
    )

    test(
      'index-flush-read',
      "aflush() of a signed-in session the request has read ends its entry: the user's other devices no longer list it",
      async () => {
        const { store, users, login } = await withUsers()
        const gone = await login('u1')
        const me = await login('u1')
        const request = store.open(gone.sessionKey)
        expect(await users.agetUserId(request)).toBe('u1')
        await request.aflush()
        expect(await loads(store, gone.sessionKey)).toBe(false)
        expect((await users.alist(me)).map((entry) => entry.current)).toEqual([true])
      },
      true,
    )
  })
}

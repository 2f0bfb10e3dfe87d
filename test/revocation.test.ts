/**
 * Revocable signed cookies: the cookie engine with an Upstash revocation store, against real Redis through the
 * local Upstash REST server. Requests are counted at that server; store growth is measured in Redis itself.
 */
import { NextRequest } from 'next/server'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { cookieEngine, createSessionStore, SessionInterrupted, SessionStoreUnavailable, type SessionStore } from '../src/index.js'
import { writeReserved } from '../src/core/session.js'
import { sessionMiddleware } from '../src/next/middleware.js'
import { withSnapshot } from '../src/snapshot/index.js'
import { upstashEngine } from '../src/engines/upstash.js'
import { sha256Hex } from '../src/lib/crypto.js'
import { upstashRevocation } from '../src/revocation/upstash.js'
import { userSessions, USER_ID_KEY } from '../src/users/index.js'
import { SECRET, uniquePrefix, upstashFixture } from './support/upstash.js'

const fx = await upstashFixture()
afterAll(() => fx?.close())

beforeEach(() => {
  if (!fx) return
  fx.server.faults.clear()
  fx.server.stats.reset()
})

/** Two stores on one prefix stand for two server processes: each has its own verified-cookie cache. */
function stores(prefix = uniquePrefix('revocation'), count = 2): SessionStore[] {
  return Array.from({ length: count }, () =>
    createSessionStore({
      secret: SECRET,
      engine: cookieEngine({ revocation: upstashRevocation({ redis: { url: fx!.server.url, token: fx!.server.token }, prefix }) }),
    }),
  )
}

/** Over 64 bytes, as users store. */
const PROFILE = { name: 'Ada Lovelace', email: 'ada@example.com', roles: ['admin', 'editor'], note: 'x'.repeat(80) }

async function signedIn(store: SessionStore, userId = 'u1', label = 'Firefox on Linux'): Promise<string> {
  const session = store.open()
  await session.aset('profile', PROFILE)
  await userSessions(store).alogin(session, userId, { label })
  await session.asave()
  return session.sessionKey!
}

describe.skipIf(!fx)('revocable signed cookies', () => {
  it('ASVS 3.3.1: a copy of a signed-in cookie taken before logout loads as an empty session afterwards, in every process', async () => {
    const [a, b] = stores()
    const cookie = await signedIn(a!)
    // Both processes have verified (and cached) the cookie before the logout.
    expect(await a!.open(cookie).aget('profile')).toEqual(PROFILE)
    expect(await b!.open(cookie).aget('profile')).toEqual(PROFILE)
    await a!.open(cookie).aflush()
    for (const store of [a!, b!]) {
      const replay = store.open(cookie)
      expect(await replay.aget('profile')).toBeUndefined()
      expect(replay.sessionKey).toBeNull()
    }
  })

  it('ASVS 3.3.1: acycleKey() ends the old cookie and the new one works', async () => {
    const [a, b] = stores()
    const old = await signedIn(a!)
    const session = a!.open(old)
    await session.acycleKey()
    expect(session.sessionKey).not.toBe(old)
    expect(await b!.open(old).aget('profile')).toBeUndefined()
    expect(await b!.open(session.sessionKey).aget('profile')).toEqual(PROFILE)
  })

  it('a signed-in request costs one Upstash request; an anonymous one none', async () => {
    const [store] = stores()
    const anonymous = store!.open()
    await anonymous.aset('cart', PROFILE)
    await anonymous.asave()
    const signed = await signedIn(store!)

    fx!.server.stats.reset()
    const visitor = store!.open(anonymous.sessionKey)
    expect(await visitor.aget('cart')).toEqual(PROFILE)
    expect(await visitor.aget('nothing')).toBeUndefined()
    expect(fx!.server.stats.total).toBe(0)

    const user = store!.open(signed)
    expect(await user.aget('profile')).toEqual(PROFILE)
    expect(await user.aget(USER_ID_KEY as 'profile')).toBe('u1')
    expect(fx!.server.stats.total).toBe(1)
    expect(fx!.server.stats.commands).toEqual({ EVAL: 1 })
  })

  it('requests per operation, counted at the server', async () => {
    const [store] = stores()
    const counts: Record<string, number> = {}
    const count = async (name: string, run: () => Promise<unknown>): Promise<void> => {
      fx!.server.stats.reset()
      await run()
      counts[name] = fx!.server.stats.total
    }
    const users = userSessions(store!)
    let session = store!.open()
    await count('login (new visitor)', async () => {
      await users.alogin(session, 'u1', { label: 'Chrome' })
    })
    const key = session.sessionKey!
    await count('page view (load)', () => store!.open(key).aget('x' as never))
    await count('page view + refresh (load, save)', async () => {
      session = store!.open(key)
      await session.aget('x' as never)
      session.modified = true
      await session.asave()
    })
    await count('list sessions (load, list)', () => users.alist(store!.open(session.sessionKey)))
    await count('logout (aflush)', () => store!.open(session.sessionKey).aflush())
    expect(counts).toEqual({
      'login (new visitor)': 1,
      'page view (load)': 1,
      'page view + refresh (load, save)': 2,
      'list sessions (load, list)': 2,
      'logout (aflush)': 1,
    })
  })

  it('the verified-cookie cache never bypasses the check: a cookie verified a moment ago stops loading once ended elsewhere', async () => {
    const [a, b] = stores()
    const cookie = await signedIn(a!)
    expect(await a!.open(cookie).aget('profile')).toEqual(PROFILE)
    const users = userSessions(b!)
    const other = b!.open(cookie)
    const [entry] = await users.alist(other)
    await users.aendAllForUser('u1')
    expect(entry!.current).toBe(true)
    expect(await a!.open(cookie).aget('profile')).toBeUndefined()
  })

  it('store outage with revocation configured fails closed for signed-in cookies; anonymous ones need no store', async () => {
    const [store] = stores()
    const signed = await signedIn(store!)
    const anonymous = store!.open()
    await anonymous.aset('cart', [1])
    await anonymous.asave()
    fx!.server.faults.inject({ status: 503, body: '{"error":"down"}' }, 10)
    await expect(store!.open(signed).aget('profile')).rejects.toBeInstanceOf(SessionStoreUnavailable)
    const error = await store!.open(signed).aget('profile').catch((err: unknown) => err)
    expect(JSON.stringify((error as Error).message)).not.toContain('Ada')
    expect(await store!.open(anonymous.sessionKey).aget('cart')).toEqual([1])
    fx!.server.faults.clear()
    expect(await store!.open(signed).aget('profile')).toEqual(PROFILE)
  })

  it('the middleware gate answers 503 (or the configured redirect) when the revocation store is down, never the page', async () => {
    const [store] = stores()
    const signed = await signedIn(store!)
    const options = { protect: ['/account'], allow: async () => true, slidingRefresh: true }
    const visit = (gate: ReturnType<typeof sessionMiddleware>) =>
      gate(new NextRequest('http://127.0.0.1:3000/account', { headers: { cookie: `${store!.settings.cookieName}=${signed}` } }))
    fx!.server.faults.inject({ drop: true }, 20)
    const refused = await visit(sessionMiddleware(store!, options))
    expect(refused.status).toBe(503)
    expect(refused.headers.get('set-cookie')).toBeNull()
    const redirected = await visit(sessionMiddleware(store!, { ...options, onStoreUnavailable: { redirect: '/maintenance' } }))
    expect(redirected.status).toBe(303)
    expect(new URL(redirected.headers.get('location')!, 'http://127.0.0.1:3000').pathname).toBe('/maintenance')
    fx!.server.faults.clear()
    expect((await visit(sessionMiddleware(store!, options))).status).toBe(200)
  })

  it('a cookie bound to a user without a session id (made before revocation was configured) no longer loads', async () => {
    const [store] = stores()
    const plain = createSessionStore({ secret: SECRET, engine: cookieEngine() })
    const session = plain.open()
    await session[writeReserved]('_auth_user_id', 'u1')
    await session.asave()
    expect(await plain.open(session.sessionKey).aget(USER_ID_KEY as never)).toBe('u1')
    expect(await store!.open(session.sessionKey).aget(USER_ID_KEY as never)).toBeUndefined()
  })

  it('a save racing the end of its session is refused (SessionInterrupted) and the session stays ended', async () => {
    const [a, b] = stores()
    const cookie = await signedIn(a!)
    const racing = a!.open(cookie)
    await racing.aget('profile')
    await userSessions(b!).aendAllForUser('u1')
    await racing.aset('profile', { ...PROFILE, name: 'changed' })
    await expect(racing.asave()).rejects.toBeInstanceOf(SessionInterrupted)
    expect(await b!.open(cookie).aget('profile')).toBeUndefined()
    expect(await userSessions(b!).alist(b!.open(cookie))).toEqual([])
  })

  it('the store holds only live signed-in sessions: logouts shrink it, and each key expires with its last session', async () => {
    const prefix = uniquePrefix('growth')
    const [store] = stores(prefix, 1)
    const cookies: string[] = []
    for (let i = 0; i < 5; i++) cookies.push(await signedIn(store!, 'u1'))
    const keys = await fx!.direct.keys(`${prefix}*`)
    expect(keys).toHaveLength(2)
    // The index expires with the last session: never later than the cookie (2 weeks by default).
    for (const key of keys) {
      const ttl = await fx!.direct.pttl(key)
      expect(ttl).toBeGreaterThan(0)
      expect(ttl).toBeLessThanOrEqual(store!.settings.cookieAge * 1000)
    }
    let bytes = 0
    for (const key of keys) bytes += Number(await fx!.direct.memory('USAGE', key))
    console.info(`[revocation] 5 live sessions of one user: ${bytes} bytes in Redis (${Math.round(bytes / 5)} per session)`)
    for (const cookie of cookies) await store!.open(cookie).aflush()
    expect(await fx!.direct.keys(`${prefix}*`)).toEqual([])
  })
})

describe.skipIf(!fx)('the Upstash engine\'s user index', () => {
  const makeStore = (prefix = uniquePrefix('users')): SessionStore =>
    createSessionStore({ secret: SECRET, engine: upstashEngine({ redis: { url: fx!.server.url, token: fx!.server.token }, prefix }) })

  it('requests per operation with a user bound, counted at the server: the index costs no extra request but at logout', async () => {
    const store = makeStore()
    const users = userSessions(store)
    const counts: Record<string, number> = {}
    const count = async (name: string, run: () => Promise<unknown>): Promise<void> => {
      fx!.server.stats.reset()
      await run()
      counts[name] = fx!.server.stats.total
    }
    const session = store.open()
    await count('login (new visitor)', () => users.alogin(session, 'u1', { label: 'Chrome' }))
    const key = session.sessionKey!
    await count('page view (load)', () => store.open(key).aget('x' as never))
    await count('page view + refresh (load, save)', async () => {
      const visit = store.open(key)
      await visit.aget('x' as never)
      visit.modified = true
      await visit.asave()
    })
    await count('list sessions (load, list)', () => users.alist(store.open(key)))
    await count('logout (aflush)', () => store.open(key).aflush())
    expect(counts).toEqual({
      'login (new visitor)': 1,
      'page view (load)': 1,
      'page view + refresh (load, save)': 2,
      'list sessions (load, list)': 2,
      'logout (aflush)': 2,
    })
  })

  it('the index lives in the same scripts as the records: entries expire with their sessions, logouts leave nothing behind', async () => {
    const prefix = uniquePrefix('users-growth')
    const store = makeStore(prefix)
    const users = userSessions(store)
    const sessions = []
    for (let i = 0; i < 3; i++) {
      const session = store.open()
      await session.aset('profile', PROFILE)
      await users.alogin(session, 'u1')
      sessions.push(session)
    }
    const indexKeys = (await fx!.direct.keys(`${prefix}u:*`)).sort()
    expect(indexKeys).toHaveLength(2)
    const recordTtls = await Promise.all(sessions.map(async (s) => fx!.direct.pttl(prefix + (await sha256Hex(s.sessionKey!)))))
    for (const key of indexKeys) {
      const ttl = await fx!.direct.pttl(key)
      expect(ttl).toBeGreaterThan(0)
      expect(ttl).toBeLessThanOrEqual(Math.max(...recordTtls) + 1000)
    }
    // The index ids are the records' names: no usable session key is stored or listed.
    const listed = await users.alist(sessions[0]!)
    for (const entry of listed) expect(await fx!.direct.exists(prefix + entry.id)).toBe(1)
    for (const session of sessions) await session.aflush()
    expect(await fx!.direct.keys(`${prefix}*`)).toEqual([])
  })

  it('the index entry expires with its record, also when a concurrent asetExpiry changes the TTL a save writes', async () => {
    const prefix = uniquePrefix('users-expiry')
    const store = makeStore(prefix)
    const users = userSessions(store)
    const session = store.open()
    await session.aset('profile', PROFILE)
    await users.alogin(session, 'u1')
    const key = session.sessionKey!
    const [first, second] = [store.open(key), store.open(key)]
    await first.aget('profile')
    await second.aget('profile')
    await first.asetExpiry(600)
    await first.asave()
    // This save leaves the expiry alone: the record keeps the 600 s the other request set, and so does its entry.
    await second.aset('profile', { ...PROFILE, name: 'second' })
    await second.asave()
    const recordTtl = await fx!.direct.pttl(prefix + (await sha256Hex(key)))
    expect(recordTtl).toBeLessThanOrEqual(600_000)
    const [entry] = await users.alist(store.open(key))
    expect(Math.abs(entry!.expires.getTime() - (Date.now() + recordTtl))).toBeLessThan(2000)
  })

  it('behind a snapshot (withSnapshot) the index still knows this device, and ending the others keeps it', async () => {
    const store = createSessionStore({
      secret: SECRET,
      engine: withSnapshot(upstashEngine({ redis: { url: fx!.server.url, token: fx!.server.token }, prefix: uniquePrefix('users-snapshot') })),
    })
    const users = userSessions(store)
    const [other, me] = [store.open(), store.open()]
    await users.alogin(other, 'u1')
    await users.alogin(me, 'u1')
    expect(me.sessionKey).toContain('.')
    expect((await users.alist(me)).map((entry) => entry.current)).toEqual([false, true])
    await users.aendOthers(me)
    expect((await users.alist(store.open(me.sessionKey))).map((entry) => entry.current)).toEqual([true])
  })

  it('a save of a signed-in session during an outage fails closed and writes neither the record nor the index', async () => {
    const prefix = uniquePrefix('users-outage')
    const store = makeStore(prefix)
    const session = store.open()
    fx!.server.faults.inject({ status: 500, body: '{"error":"down"}' }, 5)
    await expect(userSessions(store).alogin(session, 'u1')).rejects.toBeInstanceOf(SessionStoreUnavailable)
    fx!.server.faults.clear()
    expect(await fx!.direct.keys(`${prefix}*`)).toEqual([])
  })
})

/**
 * The Upstash engine against real Redis through the local Upstash REST server: storage layout,
 * round trips (counted at the server), Django's store contract under concurrency, and faults.
 */
import type { RedisConfigNodejs } from '@upstash/redis'
import { format, inspect } from 'node:util'
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { commitSession, createSessionStore, SessionConfigError, SessionInterrupted, SessionStoreUnavailable, type SessionStore } from '../src/index.js'
import { upstashEngine, type UpstashEngineOptions } from '../src/engines/upstash.js'
import { sha256Hex } from '../src/lib/crypto.js'
import { KEY_CYCLED, KEY_CYCLED_SECONDS } from '../src/core/engine.js'
import { writeReserved } from '../src/core/session.js'
import { withSnapshot } from '../src/snapshot/index.js'
import { USER_ID_KEY, userSessions } from '../src/users/index.js'
import { SECRET, uniquePrefix, upstashFixture } from './support/upstash.js'

const fx = await upstashFixture()
afterAll(() => fx?.close())

function makeStore(options: UpstashEngineOptions = {}): SessionStore {
  const prefix = options.prefix ?? uniquePrefix('engine')
  return createSessionStore({
    secret: SECRET,
    engine: upstashEngine({ redis: { url: fx!.server.url, token: fx!.server.token }, ...options, prefix }),
  })
}

/** A saved session holding `data`; returns its key. */
async function seed(store: SessionStore, data: Record<string, unknown> = { a: 1 }): Promise<string> {
  const session = store.open()
  await session.aupdate(data)
  await session.asave()
  return session.sessionKey!
}

async function hashedKey(key: string, prefix: string): Promise<string> {
  return prefix + (await sha256Hex(key))
}

/** A key cycled away from: Redis holds only the marker there, no data, for at most KEY_CYCLED_SECONDS. */
async function expectCycled(store: SessionStore, key: string, prefix: string): Promise<void> {
  const redisKey = await hashedKey(key, prefix)
  expect(await fx!.direct.type(redisKey)).toBe('string')
  expect(await fx!.direct.get(redisKey)).toBe('cycled')
  const ttl = await fx!.direct.pttl(redisKey)
  expect(ttl).toBeGreaterThan(0)
  expect(ttl).toBeLessThanOrEqual(KEY_CYCLED_SECONDS * 1000)
  expect(await store.engine.load(key)).toBe(KEY_CYCLED)
  expect(await store.engine.exists(key)).toBe(false)
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

beforeEach(() => {
  if (!fx) return
  fx.server.faults.clear()
  fx.server.stats.reset()
})

describe.skipIf(!fx)('storage layout', () => {
  it('stores a hash under prefix + sha256(session key); the raw key appears nowhere in Redis', async () => {
    const prefix = uniquePrefix('layout')
    const store = makeStore({ prefix })
    const key = await seed(store, { user: 'ann', cart: [1, 2] })
    const keys = await fx!.direct.keys(`${prefix}*`)
    expect(keys).toEqual([prefix + (await sha256Hex(key))])
    expect(keys[0]).toMatch(new RegExp(`^${prefix.replaceAll(':', '\\:')}[0-9a-f]{64}$`))
    const all = await fx!.direct.keys('*')
    expect(all.some((k) => k.includes(key))).toBe(false)
    const hash = await fx!.direct.hgetall(keys[0]!)
    // Each value behind its position, which keeps the order; _record counts the positions given out.
    expect(hash).toEqual({ _record: '2', user: '1:"ann"', cart: '2:[1,2]' })
    expect(JSON.stringify(hash)).not.toContain(key)
  })

  it('sets the TTL from the expiry age on every write; an expiry in the past deletes', async () => {
    const prefix = uniquePrefix('ttl')
    const store = makeStore({ prefix })
    const key = await seed(store)
    const redisKey = await hashedKey(key, prefix)
    const ttl = await fx!.direct.ttl(redisKey)
    expect(ttl).toBeGreaterThan(store.settings.cookieAge - 5)
    expect(ttl).toBeLessThanOrEqual(store.settings.cookieAge)
    const session = store.open(key)
    await session.asetExpiry(60)
    await session.asave()
    expect(await fx!.direct.ttl(redisKey)).toBeLessThanOrEqual(60)
    expect(await fx!.direct.ttl(redisKey)).toBeGreaterThan(55)
    const fractional = store.open(key)
    await fractional.asetExpiry(1.5)
    await fractional.asave()
    expect(await fx!.direct.pttl(redisKey)).toBeGreaterThan(1000)
    expect(await fx!.direct.pttl(redisKey)).toBeLessThanOrEqual(1500)
    const expired = store.open(key)
    await expired.asetExpiry(new Date(Date.now() - 1000))
    await expired.asave()
    expect(await fx!.direct.exists(redisKey)).toBe(0)
    expect(await store.open(key).aget('a')).toBeUndefined()
  })

  it('keeps an empty session as a record, and hides the marker field from the data', async () => {
    const store = makeStore()
    const session = store.open()
    await session.asave()
    const key = session.sessionKey!
    expect(await store.engine.exists(key)).toBe(true)
    expect(await store.engine.load(key)).toEqual({})
    const again = store.open(key)
    await again.aset('x', 1)
    await again.adelete('x')
    await again.asave()
    expect(await store.engine.load(key)).toEqual({})
    // `_record` is reserved: a user cannot write it, and the core never does.
    await expect(again.aset('_record', 1)).rejects.toMatchObject({ code: 'ERR_SESSION_RESERVED_KEY' })
  })

  it('writes only what changed, and aclear() replaces the whole record', async () => {
    const prefix = uniquePrefix('diff')
    const store = makeStore({ prefix })
    const key = await seed(store, { a: 1, b: 2, c: 3 })
    const redisKey = await hashedKey(key, prefix)
    const session = store.open(key)
    await session.aset('b', 20)
    await session.adelete('c')
    fx!.server.stats.reset()
    await session.asave()
    expect(await fx!.direct.hgetall(redisKey)).toEqual({ _record: '3', a: '1:1', b: '2:20' })
    const cleared = store.open(key)
    await cleared.aclear()
    await cleared.aset('z', true)
    await cleared.asave()
    expect(await store.engine.load(key)).toEqual({ z: true })
    expect(await fx!.direct.hgetall(redisKey)).toEqual({ _record: '1', z: '1:true' })
  })

  it('clearExpired() is a no-op: Redis expires sessions itself', async () => {
    const store = makeStore()
    const key = await seed(store)
    fx!.server.stats.reset()
    await store.clearExpired()
    expect(fx!.server.stats.total).toBe(0)
    expect(await store.engine.exists(key)).toBe(true)
  })

  it('a stored value the serializer cannot read loads as no session, not an error', async () => {
    const prefix = uniquePrefix('malformed')
    const store = makeStore({ prefix })
    const key = await seed(store)
    await fx!.direct.hset(await hashedKey(key, prefix), 'a', '{not json')
    expect(await store.engine.load(key)).toBeNull()
    await fx!.direct.set(await hashedKey('wrongtypekey', prefix), 'a string')
    expect(await store.engine.load('wrongtypekey')).toBeNull()
  })

  it('a login (move) of such a record starts an empty session, and the record it could not read is gone', async () => {
    const prefix = uniquePrefix('malformed-move')
    const store = makeStore({ prefix })
    const key = await seed(store)
    await fx!.direct.hset(await hashedKey(key, prefix), 'a', '{not json')
    const session = store.open(key)
    await session.acycleKey()
    expect(await session.akeys()).toEqual([])
    expect(session.sessionKey).not.toBe(key)
    expect((await fx!.direct.keys(`${prefix}*`)).sort()).toEqual([await hashedKey(key, prefix), await hashedKey(session.sessionKey!, prefix)].sort())
    await expectCycled(store, key, prefix)
  })
})

describe.skipIf(!fx)('round trips, counted at the server', () => {
  const latencies: Record<string, number[]> = {}
  const timed = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    const started = performance.now()
    const result = await run()
    ;(latencies[name] ??= []).push(performance.now() - started)
    return result
  }
  afterAll(() => {
    const summary = Object.entries(latencies).map(([name, values]) => `${name}: median ${median(values).toFixed(2)} ms (n=${values.length})`)
    console.log(`[upstash round-trip latencies, local REST server]\n${summary.join('\n')}`)
  })

  it('new session: 1 request (create)', async () => {
    const store = makeStore()
    for (let i = 0; i < 20; i++) {
      fx!.server.stats.reset()
      const session = store.open()
      await session.aset('fav', 'blue')
      await timed('create (1 request)', () => commitSession(session, { hadCookie: false }))
      expect(fx!.server.stats.total).toBe(1)
    }
  })

  it('read: 1 request, however many reads', async () => {
    const store = makeStore()
    const key = await seed(store, { a: 1, b: 2 })
    for (let i = 0; i < 20; i++) {
      fx!.server.stats.reset()
      const session = store.open(key)
      expect(await timed('load (1 request)', () => session.aget('a'))).toBe(1)
      expect(await session.aget('b')).toBe(2)
      expect(await session.akeys()).toEqual(['a', 'b'])
      const { cookie } = await commitSession(session, { hadCookie: true })
      expect(cookie).toBeNull()
      expect(fx!.server.stats.total).toBe(1)
      expect(fx!.server.stats.commands).toEqual({ EVAL: 1 })
    }
  })

  it('write: load + save = 2 requests', async () => {
    const store = makeStore()
    const key = await seed(store)
    for (let i = 0; i < 20; i++) {
      fx!.server.stats.reset()
      const session = store.open(key)
      await session.aset('n', i)
      await timed('save (1 request)', () => commitSession(session, { hadCookie: true }))
      expect(fx!.server.stats.total).toBe(2)
    }
    expect(await store.open(key).aget('n')).toBe(19)
  })

  it('login: load + cycle + save = 3 requests; the old key stops loading', async () => {
    const prefix = uniquePrefix('login')
    const store = makeStore({ prefix })
    for (let i = 0; i < 20; i++) {
      const key = await seed(store, { cart: [1] })
      fx!.server.stats.reset()
      const session = store.open(key)
      await session.aget('cart')
      await timed('cycle (1 request)', () => session.acycleKey())
      await session.aset('user', 'ann')
      const { cookie } = await commitSession(session, { hadCookie: true })
      expect(fx!.server.stats.total).toBe(3)
      expect(cookie!.value).not.toBe(key)
      await expectCycled(store, key, prefix)
      expect(await store.engine.load(cookie!.value)).toEqual({ cart: [1], user: 'ann' })
    }
  })

  it('login from a session not read yet: move + save = 2 requests; the old key stops loading, the expiry restarts', async () => {
    const prefix = uniquePrefix('move')
    const store = makeStore({ prefix })
    for (let i = 0; i < 20; i++) {
      const key = await seed(store, { cart: [1] })
      // Most of the old record's life gone: the save at the end of the login must give it a whole age again.
      await fx!.direct.pexpire(await hashedKey(key, prefix), 300_000)
      fx!.server.stats.reset()
      const session = store.open(key)
      await timed('move (1 request)', () => session.acycleKey())
      expect(fx!.server.stats.total).toBe(1)
      expect(await session.aget('cart')).toEqual([1])
      await session.aset('user', 'ann')
      const { cookie } = await commitSession(session, { hadCookie: true })
      expect(fx!.server.stats.total).toBe(2)
      expect(fx!.server.stats.commands).toEqual({ EVAL: 2 })
      expect(cookie!.value).toBe(session.sessionKey)
      expect(cookie!.value).not.toBe(key)
      await expectCycled(store, key, prefix)
      expect(await store.engine.load(cookie!.value)).toEqual({ cart: [1], user: 'ann' })
      expect(await fx!.direct.pttl(await hashedKey(cookie!.value, prefix))).toBeGreaterThan(1_209_000_000)
    }
  })

  it('a cycle alone of a session not read yet: 1 request, its expiry restarted in the same script; with an expiry of its own, + the save', async () => {
    const prefix = uniquePrefix('move-alone')
    const store = makeStore({ prefix })
    const key = await seed(store, { cart: [1] })
    await fx!.direct.pexpire(await hashedKey(key, prefix), 300_000)
    fx!.server.stats.reset()
    const session = store.open(key)
    await session.acycleKey()
    const { cookie } = await commitSession(session, { hadCookie: true })
    expect(fx!.server.stats.total).toBe(1)
    expect(await fx!.direct.pttl(await hashedKey(cookie!.value, prefix))).toBeGreaterThan(1_209_000_000)
    expect(await store.engine.load(cookie!.value)).toEqual({ cart: [1] })
    // Its own expiry (asetExpiry) is data the script does not read: the TTL waits for the save, which restarts it.
    const own = store.open(cookie!.value)
    await own.asetExpiry(600)
    await own.asave()
    await fx!.direct.pexpire(await hashedKey(own.sessionKey!, prefix), 20_000)
    fx!.server.stats.reset()
    const again = store.open(own.sessionKey)
    await again.acycleKey()
    expect(fx!.server.stats.total).toBe(1)
    // Moved with at least a grace period, so that it outlives the request.
    const moved = await fx!.direct.pttl(await hashedKey(again.sessionKey!, prefix))
    expect(moved).toBeGreaterThan(50_000)
    expect(moved).toBeLessThanOrEqual(60_000)
    await commitSession(again, { hadCookie: true })
    expect(fx!.server.stats.total).toBe(2)
    const restarted = await fx!.direct.pttl(await hashedKey(again.sessionKey!, prefix))
    expect(restarted).toBeGreaterThan(590_000)
    expect(restarted).toBeLessThanOrEqual(600_000)
  })

  it('with an absolute lifetime, the move keeps the expiry and the save restarts it, capped; past it, nothing is moved', async () => {
    const prefix = uniquePrefix('move-lifetime')
    const store = createSessionStore({
      secret: SECRET,
      lifetime: { absolute: 3 },
      engine: upstashEngine({ redis: { url: fx!.server.url, token: fx!.server.token }, prefix }),
    })
    const key = await seed(store, { cart: [1] })
    fx!.server.stats.reset()
    const session = store.open(key)
    await session.acycleKey()
    // The age depends on the lifetime's start, in the data: the script cannot restart it, the commit does.
    const { cookie } = await commitSession(session, { hadCookie: true })
    expect(fx!.server.stats.total).toBe(2)
    expect(await fx!.direct.pttl(await hashedKey(cookie!.value, prefix))).toBeLessThanOrEqual(3000)
    // Outliving its lifetime in Redis, as a record saved before the lifetime was shortened does.
    await fx!.direct.pexpire(await hashedKey(cookie!.value, prefix), 60_000)
    await new Promise((r) => setTimeout(r, 3100))
    const ended = store.open(cookie!.value)
    await ended.acycleKey()
    expect(await ended.aget('cart')).toBeUndefined()
    expect(ended.sessionKey).not.toBe(cookie!.value)
    // Moved, found past its lifetime, deleted: only the fresh session is left, beside the two cycled keys' markers.
    expect((await fx!.direct.keys(`${prefix}*`)).sort()).toEqual(
      (await Promise.all([key, cookie!.value, ended.sessionKey!].map((k) => hashedKey(k, prefix)))).sort(),
    )
    await expectCycled(store, cookie!.value, prefix)
  })

  it('login of a visitor with no session yet: create 1, + save 1; a cycle alone of a session read first: 2', async () => {
    const store = makeStore()
    fx!.server.stats.reset()
    const visitor = store.open()
    await visitor.acycleKey()
    expect(fx!.server.stats.total).toBe(1)
    await visitor.aset('user', 'ann')
    await commitSession(visitor, { hadCookie: false })
    expect(fx!.server.stats.total).toBe(2)
    fx!.server.stats.reset()
    const loaded = store.open(visitor.sessionKey)
    await loaded.aget('user')
    await loaded.acycleKey()
    expect(fx!.server.stats.total).toBe(2)
    // The cycle wrote the session as it is: the commit does not write it again a moment later.
    const { cookie } = await commitSession(loaded, { hadCookie: true })
    expect(fx!.server.stats.total).toBe(2)
    expect(await store.engine.load(cookie!.value)).toEqual({ user: 'ann' })
  })

  it('logout: 1 request (aflush deletes without loading)', async () => {
    const store = makeStore()
    for (let i = 0; i < 20; i++) {
      const key = await seed(store)
      fx!.server.stats.reset()
      const session = store.open(key)
      await timed('flush (1 request)', () => session.aflush())
      const { cookie } = await commitSession(session, { hadCookie: true })
      expect(cookie!.maxAge).toBe(0)
      expect(fx!.server.stats.total).toBe(1)
      // One script: it deletes the record and names the user it was bound to (none here), for the user index.
      expect(fx!.server.stats.commands).toEqual({ EVAL: 1 })
      expect(await store.engine.exists(key)).toBe(false)
    }
  })

  it('a request that never touches the session: 0 requests', async () => {
    const store = makeStore()
    const key = await seed(store)
    fx!.server.stats.reset()
    const session = store.open(key)
    expect(await commitSession(session, { hadCookie: true })).toEqual({ cookie: null, vary: false })
    expect(fx!.server.stats.total).toBe(0)
  })
})

describe.skipIf(!fx)('concurrency', () => {
  it('50 parallel writers of 50 different keys leave 50 keys', async () => {
    const store = makeStore()
    const key = await seed(store, {})
    await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const session = store.open(key)
        await session.aset(`k${i}`, i)
        await session.asave()
      }),
    )
    const data = (await store.engine.load(key)) as Record<string, unknown>
    expect(Object.keys(data).length).toBe(50)
    for (let i = 0; i < 50; i++) expect(data[`k${i}`]).toBe(i)
  })

  it('a request that loaded before a logout cannot save after it: SessionInterrupted, nothing written', async () => {
    const prefix = uniquePrefix('logout')
    const store = makeStore({ prefix })
    const key = await seed(store, { user: 'ann' })
    const slow = store.open(key)
    expect(await slow.aget('user')).toBe('ann')
    await store.open(key).aflush()
    await slow.aset('cart', [1])
    await expect(slow.asave()).rejects.toBeInstanceOf(SessionInterrupted)
    expect(await fx!.direct.exists(await hashedKey(key, prefix))).toBe(0)
  })

  it('a save held up at the server, then overtaken by a logout, does not resurrect the session', async () => {
    const prefix = uniquePrefix('held')
    const store = makeStore({ prefix })
    const key = await seed(store, { user: 'ann' })
    const slow = store.open(key)
    await slow.aget('user')
    await slow.aset('cart', [1])
    fx!.server.faults.inject({ delayMs: 300 })
    const saving = slow.asave()
    await new Promise((r) => setTimeout(r, 50))
    const logout = store.open(key)
    await logout.aflush()
    await expect(saving).rejects.toBeInstanceOf(SessionInterrupted)
    expect(await fx!.direct.exists(await hashedKey(key, prefix))).toBe(0)
    expect(await store.open(key).aget('user')).toBeUndefined()
  })

  it('a key cycle racing a write: the old key never loads again, the new one holds the cycled data', async () => {
    const prefix = uniquePrefix('race')
    const store = makeStore({ prefix })
    const outcomes = { writeFirst: 0, interrupted: 0 }
    for (let i = 0; i < 20; i++) {
      const key = await seed(store, { user: 'ann' })
      const login = store.open(key)
      const other = store.open(key)
      await Promise.all([login.aget('user'), other.aget('user')])
      await other.aset('note', i)
      // Every other round, hold up whichever request reaches the server first, so both orders happen.
      if (i % 2) fx!.server.faults.inject({ delayMs: 50 })
      const [cycled, written] = await Promise.allSettled([login.acycleKey(), other.asave()])
      expect(cycled.status).toBe('fulfilled')
      if (written.status === 'rejected') {
        expect(written.reason).toBeInstanceOf(SessionInterrupted)
        outcomes.interrupted++
      } else {
        outcomes.writeFirst++
      }
      await expectCycled(store, key, prefix)
      expect(await store.engine.load(login.sessionKey!)).toEqual({ user: 'ann' })
    }
    expect(outcomes.writeFirst).toBeGreaterThan(0)
    expect(outcomes.interrupted).toBeGreaterThan(0)
  })

  it('a login (move) held up and overtaken by a logout: the move finds nothing, the login starts empty, the data is nowhere', async () => {
    const prefix = uniquePrefix('move-logout')
    const store = makeStore({ prefix })
    const key = await seed(store, { user: 'ann', cart: [1] })
    const login = store.open(key)
    fx!.server.faults.inject({ delayMs: 300 })
    const cycling = login.acycleKey()
    await new Promise((r) => setTimeout(r, 50))
    await store.open(key).aflush()
    await cycling
    expect(await login.akeys()).toEqual([])
    await login.aset('user', 'bob')
    const { cookie } = await commitSession(login, { hadCookie: true })
    expect(cookie!.value).not.toBe(key)
    expect(await fx!.direct.keys(`${prefix}*`)).toEqual([await hashedKey(cookie!.value, prefix)])
    expect(await store.engine.load(cookie!.value)).toEqual({ user: 'bob' })
  })

  it('the new key ended between the move and the save ("log out everywhere"): the save is refused and writes nothing', async () => {
    const prefix = uniquePrefix('move-ended')
    const store = makeStore({ prefix })
    const key = await seed(store, { cart: [1] })
    const login = store.open(key)
    await login.acycleKey()
    await store.engine.delete(login.sessionKey!)
    await login.aset('user', 'ann')
    await expect(commitSession(login, { hadCookie: true })).rejects.toBeInstanceOf(SessionInterrupted)
    // Only the old key's marker: no data.
    expect(await fx!.direct.keys(`${prefix}*`)).toEqual([await hashedKey(key, prefix)])
    await expectCycled(store, key, prefix)
  })

  it('a move racing a write of the old key: the write is in the moved record, or refused; the old key never loads again', async () => {
    const prefix = uniquePrefix('move-race')
    const store = makeStore({ prefix })
    const outcomes = { writeFirst: 0, interrupted: 0 }
    for (let i = 0; i < 20; i++) {
      const key = await seed(store, { user: 'ann' })
      const other = store.open(key)
      await other.aget('user')
      await other.aset('note', i)
      const login = store.open(key)
      // Every other round, hold up whichever request reaches the server first, so both orders happen.
      if (i % 2) fx!.server.faults.inject({ delayMs: 50 })
      const [moved, written] = await Promise.allSettled([login.acycleKey(), other.asave()])
      expect(moved.status).toBe('fulfilled')
      await expectCycled(store, key, prefix)
      if (written.status === 'rejected') {
        expect(written.reason).toBeInstanceOf(SessionInterrupted)
        expect(await login.aitems()).toEqual([['user', 'ann']])
        outcomes.interrupted++
      } else {
        expect(await login.aitems()).toEqual([
          ['user', 'ann'],
          ['note', i],
        ])
        outcomes.writeFirst++
      }
    }
    expect(outcomes.writeFirst).toBeGreaterThan(0)
    expect(outcomes.interrupted).toBeGreaterThan(0)
  })

  it('a create never overwrites: a taken key is a CreateError and the core picks another', async () => {
    const store = makeStore()
    const key = await seed(store, { owner: 'first' })
    const write = { data: new Map([['owner', 'second']]), changed: new Set(['owner']), deleted: new Set<string>(), replace: true, expiryAge: 60, expiryAgeOf: () => 60 }
    await expect(store.engine.save(key, write, { mustCreate: true })).rejects.toMatchObject({ code: 'ERR_SESSION_KEY_TAKEN' })
    await expect(store.engine.cycle!('o'.repeat(32), key, write)).rejects.toMatchObject({ code: 'ERR_SESSION_KEY_TAKEN' })
    await expect(store.engine.save('neverexisted1', write, { mustCreate: false })).rejects.toMatchObject({ code: 'ERR_SESSION_GONE' })
    expect(await store.engine.load(key)).toEqual({ owner: 'first' })
    expect(await store.engine.exists('neverexisted1')).toBe(false)
  })
})

describe.skipIf(!fx)('a session bound to a user: its index entry moves and goes in the same script as the record', () => {
  const indexKey = async (prefix: string, userId: string): Promise<string> => `${prefix}u:${await sha256Hex(userId)}`

  async function signedIn(store: SessionStore, userId = 'u1'): Promise<string> {
    const session = store.open()
    await userSessions(store).alogin(session, userId, { label: 'Chrome on Linux' })
    const { cookie } = await commitSession(session, { hadCookie: false })
    return cookie!.value
  }

  it('logout of a session the request has read: 1 request for the record and its index entry', async () => {
    const prefix = uniquePrefix('logout-read')
    const store = makeStore({ prefix })
    const key = await signedIn(store)
    const request = store.open(key)
    expect(await userSessions(store).agetUserId(request)).toBe('u1')
    fx!.server.stats.reset()
    await request.aflush()
    const { cookie } = await commitSession(request, { hadCookie: true })
    expect(cookie!.maxAge).toBe(0)
    expect(fx!.server.stats.total).toBe(1)
    // The user's last session: the index keys went with it.
    expect(await fx!.direct.keys(`${prefix}*`)).toEqual([])
  })

  it('logout of a session not read: the record goes in 1 request, the index entry in a second (the user was unknown)', async () => {
    const prefix = uniquePrefix('logout-blind')
    const store = makeStore({ prefix })
    const key = await signedIn(store)
    fx!.server.stats.reset()
    await store.open(key).aflush()
    expect(fx!.server.stats.total).toBe(2)
    expect(await fx!.direct.keys(`${prefix}*`)).toEqual([])
  })

  it('logout behind a fresh snapshot, not read: 1 request, the snapshot names the user', async () => {
    const prefix = uniquePrefix('logout-snapshot')
    const store = createSessionStore({
      secret: SECRET,
      engine: withSnapshot(upstashEngine({ redis: { url: fx!.server.url, token: fx!.server.token }, prefix })),
    })
    const cookie = await signedIn(store)
    expect(cookie).toContain('.')
    fx!.server.stats.reset()
    await store.open(cookie).aflush()
    expect(fx!.server.stats.total).toBe(1)
    expect(await fx!.direct.keys(`${prefix}*`)).toEqual([])
  })

  it('logout with a stale idea of the user (rebound since the read): the entry of the user it is bound to now goes', async () => {
    const prefix = uniquePrefix('logout-stale')
    const store = makeStore({ prefix })
    const key = await signedIn(store)
    const reader = store.open(key)
    await reader.aget('x' as never)
    const rebind = store.open(key)
    await rebind[writeReserved](USER_ID_KEY, 'u2')
    await rebind.asave()
    expect(await fx!.direct.zcard(await indexKey(prefix, 'u2'))).toBe(1)
    fx!.server.stats.reset()
    await reader.aflush()
    expect(fx!.server.stats.total).toBe(2)
    expect(await fx!.direct.exists(await hashedKey(key, prefix))).toBe(0)
    expect(await fx!.direct.exists(await indexKey(prefix, 'u2'))).toBe(0)
  })

  it('a cycle of a signed-in session not read: the record and its index entry move in one script, label kept (2 requests: the first learns the user)', async () => {
    const prefix = uniquePrefix('move-index')
    const store = makeStore({ prefix })
    const old = await signedIn(store)
    fx!.server.stats.reset()
    const request = store.open(old)
    await request.acycleKey()
    expect(fx!.server.stats.total).toBe(2)
    // Its expiry restarted in the move, the entry's with it: nothing left for the commit to write.
    const { cookie } = await commitSession(request, { hadCookie: true })
    expect(fx!.server.stats.total).toBe(2)
    await expectCycled(store, old, prefix)
    expect(await fx!.direct.zrange(await indexKey(prefix, 'u1'), '0', '-1')).toEqual([await sha256Hex(cookie!.value)])
    const listed = await userSessions(store).alist(store.open(cookie!.value))
    expect(listed.map((entry) => [entry.current, entry.label])).toEqual([[true, 'Chrome on Linux']])
    expect(Math.abs(listed[0]!.expires.getTime() - Date.now() - store.settings.cookieAge * 1000)).toBeLessThan(5000)
  })
})

describe.skipIf(!fx)('faults: SessionStoreUnavailable, and acknowledged writes survive', () => {
  afterEach(() => fx?.server.faults.clear())

  const faults: Record<string, { status?: number; body?: string; delayMs?: number }> = {
    'HTTP 500': { status: 500 },
    'HTTP 401': { status: 401, body: '{"error":"Unauthorized"}' },
    'a garbage body': { body: '<html>502 Bad Gateway</html>' },
    'a reply of the wrong shape': { body: '{"result":"surprise"}' },
    'an error body without JSON': { status: 503, body: 'Service Unavailable' },
    'a slow server (over timeoutMs)': { delayMs: 600 },
  }

  for (const [name, fault] of Object.entries(faults)) {
    it(name, async () => {
      const store = makeStore({ timeoutMs: 300 })
      const key = await seed(store, { kept: 'yes' })
      const before = store.open(key)
      await before.aget('kept')

      fx!.server.faults.inject(fault)
      const load = store.open(key)
      const error = await load.aget('kept').catch((err: unknown) => err)
      expect(error).toBeInstanceOf(SessionStoreUnavailable)
      expect((error as SessionStoreUnavailable).code).toBe('ERR_SESSION_STORE_UNAVAILABLE')
      // The cause is the client's error; a well-formed reply of the wrong shape has none.
      if (!fault.body?.startsWith('{"result"')) expect((error as Error).cause).toBeDefined()

      fx!.server.faults.inject(fault)
      await before.aset('lost', true)
      await expect(before.asave()).rejects.toBeInstanceOf(SessionStoreUnavailable)

      // A delete held up at the server still runs after the client gave up: leave it out of the slow case.
      const ops = [() => store.engine.exists(key), ...(fault.delayMs ? [] : [() => store.engine.delete(key)])]
      for (const op of ops) {
        fx!.server.faults.inject(fault)
        await expect(op()).rejects.toBeInstanceOf(SessionStoreUnavailable)
      }
      if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs! * 3))
      const data = await store.engine.load(key)
      // The slow save was not cancelled at Redis: it either did not run or ran whole. Nothing was half-applied.
      if (fault.delayMs) expect(data).toMatchObject({ kept: 'yes' })
      else expect(data).toEqual({ kept: 'yes' })
    })
  }

  it('the error message leaves out the request body (it holds session data)', async () => {
    const store = makeStore()
    const session = store.open()
    await session.aset('secret_note', 'do-not-log-me')
    fx!.server.faults.inject({ status: 400, body: '{"error":"ERR something"}' })
    const error = await session.asave().catch((err: unknown) => err)
    expect(error).toBeInstanceOf(SessionStoreUnavailable)
    expect((error as Error).message).toMatch(/ERR something/)
    expect((error as Error).message).not.toContain('do-not-log-me')
  })

  it('Redis itself down: SessionStoreUnavailable; back up, the data is all there', async () => {
    const store = makeStore()
    const key = await seed(store, { kept: 'yes' })
    fx!.proxy.cut()
    try {
      await expect(store.open(key).aget('kept')).rejects.toBeInstanceOf(SessionStoreUnavailable)
      const session = store.open()
      await session.aset('a', 1)
      await expect(session.asave()).rejects.toBeInstanceOf(SessionStoreUnavailable)
    } finally {
      fx!.proxy.restore()
    }
    let data: unknown = null
    for (let i = 0; i < 50 && data === null; i++) {
      data = await store.engine.load(key).catch(() => null)
      if (data === null) await new Promise((r) => setTimeout(r, 100))
    }
    expect(data).toEqual({ kept: 'yes' })
  })

  it('Redis hanging: the timeout answers, SessionStoreUnavailable; unfrozen, the data is all there', async () => {
    const store = makeStore({ timeoutMs: 300 })
    const key = await seed(store, { kept: 'yes' })
    fx!.proxy.freeze()
    const started = Date.now()
    try {
      await expect(store.open(key).aget('kept')).rejects.toBeInstanceOf(SessionStoreUnavailable)
      expect(Date.now() - started).toBeLessThan(1000)
    } finally {
      fx!.proxy.restore()
    }
    expect(await store.open(key).aget('kept')).toBe('yes')
  })

  it('a refused connection answers fast (one retry, not the client default of five over ~4 s)', async () => {
    const store = createSessionStore({ secret: SECRET, engine: upstashEngine({ redis: { url: 'http://127.0.0.1:9', token: 't' } }) })
    const started = Date.now()
    await expect(store.open('abcdefgh12345678'.repeat(2)).aget('a')).rejects.toBeInstanceOf(SessionStoreUnavailable)
    expect(Date.now() - started).toBeLessThan(1000)
  })

  it('a dropped connection is retried once', async () => {
    const store = makeStore()
    const key = await seed(store, { kept: 'yes' })
    fx!.server.stats.reset()
    fx!.server.faults.inject({ drop: true })
    expect(await store.open(key).aget('kept')).toBe('yes')
    expect(fx!.server.stats.total).toBe(2)
    fx!.server.faults.inject({ drop: true }, 2)
    await expect(store.open(key).aget('kept')).rejects.toBeInstanceOf(SessionStoreUnavailable)
  })

  it('a wrong token', async () => {
    const store = createSessionStore({ secret: SECRET, engine: upstashEngine({ redis: { url: fx!.server.url, token: 'wrong' } }) })
    const error = await store.open('abcdefgh12345678'.repeat(2)).aget('a').catch((err: unknown) => err)
    expect(error).toBeInstanceOf(SessionStoreUnavailable)
    expect((error as Error).message).toMatch(/Unauthorized/)
  })
})

describe.skipIf(!fx)('any client configuration', () => {
  const configs: Record<string, Partial<RedisConfigNodejs>> = {
    'client defaults (auto-pipelining, automatic deserialization, base64)': {},
    'automaticDeserialization:false, enableAutoPipelining:false': { automaticDeserialization: false, enableAutoPipelining: false },
    'responseEncoding:false': { responseEncoding: false },
  }
  const tricky = {
    numeric: '123',
    truthy: 'true',
    nullish: 'null',
    jsonText: '{"a":1}',
    quoted: '"q"',
    number: 42,
    float: 1.5,
    big: 12345678901234567890,
    bool: false,
    nothing: null,
    unicode: 'héllo ✓ 𝄞',
    nested: { list: [1, '2', { three: 3 }], empty: {} },
    '123': 'a numeric field name',
    '': 'empty key',
  }

  for (const [name, options] of Object.entries(configs)) {
    it(name, async () => {
      const store = createSessionStore({ secret: SECRET, engine: upstashEngine({ redis: fx!.client(options), prefix: uniquePrefix('cfg') }) })
      const session = store.open()
      await session.aupdate(tricky)
      await session.asave()
      expect(await store.engine.load(session.sessionKey!)).toEqual(tricky)
      // Concurrent writers of different keys through the same (possibly auto-pipelining) client.
      await Promise.all(
        ['x', 'y', 'z'].map(async (k) => {
          const s = store.open(session.sessionKey)
          await s.aset(k, k)
          await s.asave()
        }),
      )
      expect(await store.engine.load(session.sessionKey!)).toMatchObject({ x: 'x', y: 'y', z: 'z', numeric: '123' })
      await store.open(session.sessionKey).aflush()
      expect(await store.engine.exists(session.sessionKey!)).toBe(false)
    })
  }

  it('refuses timeoutMs with a client it did not build', () => {
    expect(() => upstashEngine({ redis: fx!.client(), timeoutMs: 100 })({} as never)).toThrow(SessionConfigError)
  })
})

describe('configuration from the environment', () => {
  const names = ['UPSTASH_REDIS_REST_URL', 'UPSTASH_REDIS_REST_TOKEN', 'KV_REST_API_URL', 'KV_REST_API_TOKEN']
  const saved = Object.fromEntries(names.map((n) => [n, process.env[n]]))
  afterEach(() => {
    for (const n of names) {
      if (saved[n] === undefined) delete process.env[n]
      else process.env[n] = saved[n]
    }
  })

  it('without a client or the variables: a SessionConfigError naming them, when the store is made', () => {
    for (const n of names) delete process.env[n]
    const engine = upstashEngine()
    const error = (() => {
      try {
        createSessionStore({ secret: SECRET, engine })
      } catch (err) {
        return err
      }
    })()
    expect(error).toBeInstanceOf(SessionConfigError)
    expect((error as Error).message).toMatch(/UPSTASH_REDIS_REST_URL/)
    expect((error as Error).message).toMatch(/KV_REST_API_URL/)
  })

  it('a redis option that is neither a client nor { url, token } is a SessionConfigError', () => {
    expect(() => createSessionStore({ secret: SECRET, engine: upstashEngine({ redis: 'redis://x' as never }) })).toThrow(SessionConfigError)
    expect(() => createSessionStore({ secret: SECRET, engine: upstashEngine({ redis: { url: 'http://127.0.0.1:1' } as never }) })).toThrow(SessionConfigError)
  })

  it('a bad URL is a SessionConfigError', () => {
    expect(() => createSessionStore({ secret: SECRET, engine: upstashEngine({ redis: { url: 'not a url', token: 't' } }) })).toThrow(SessionConfigError)
  })

  it.skipIf(!fx)('reads UPSTASH_REDIS_REST_*, else KV_REST_API_*', async () => {
    for (const [urlName, tokenName] of [
      ['UPSTASH_REDIS_REST_URL', 'UPSTASH_REDIS_REST_TOKEN'],
      ['KV_REST_API_URL', 'KV_REST_API_TOKEN'],
    ] as const) {
      for (const n of names) delete process.env[n]
      process.env[urlName] = fx!.server.url
      process.env[tokenName] = fx!.server.token
      const store = createSessionStore({ secret: SECRET, engine: upstashEngine({ prefix: uniquePrefix('env') }) })
      const key = await seed(store, { via: urlName })
      expect(await store.open(key).aget('via')).toBe(urlName)
    }
  })
})

describe.skipIf(!fx)('integrity (issue 8)', () => {
  const LONG = 'x'.repeat(100)

  it('item 2: akeys() after a round trip is insertion order with values over 64 bytes (Redis converts the hash)', async () => {
    const prefix = uniquePrefix('order')
    const store = makeStore({ prefix })
    const s = store.open()
    await s.aset('user', { id: 1, name: 'Ada Lovelace', email: 'ada@example.com', roles: ['admin'], bio: LONG })
    await s.aset('cart', [1, 2])
    await s.aset('theme', 'dark')
    await s.aset('lang', 'en')
    // Twenty more: a hashtable's order follows Redis's per-process hash seed, so four keys could come back in order by chance.
    const more = Array.from({ length: 20 }, (_, i) => `k${19 - i}`)
    for (const k of more) await s.aset(k, LONG)
    await s.asave()
    expect(await fx!.direct.object('ENCODING', await hashedKey(s.sessionKey!, prefix))).toBe('hashtable')
    expect(await store.open(s.sessionKey).akeys()).toEqual(['user', 'cart', 'theme', 'lang', ...more])
  })

  it('item 3: a second asave() with nothing new restarts the TTL', async () => {
    const prefix = uniquePrefix('resave')
    const store = makeStore({ prefix })
    const s = store.open()
    await s.aset('a', 1)
    await s.asetExpiry(100)
    await s.asave()
    const redisKey = await hashedKey(s.sessionKey!, prefix)
    await fx!.direct.pexpire(redisKey, 2000)
    await s.asave()
    expect(await fx!.direct.pttl(redisKey)).toBeGreaterThan(90_000)
  })

  it('item 4: the TTL follows the stored expiry whoever saves last, both ways; the race costs one more request', async () => {
    const prefix = uniquePrefix('ttlrace')
    const store = makeStore({ prefix })
    for (const [expiry, low, high] of [
      [60, 55_000, 60_000],
      [30 * 86400, 29 * 86400_000, 30 * 86400_000],
    ] as const) {
      const key = await seed(store, { a: 1 })
      const a = store.open(key)
      const b = store.open(key)
      await Promise.all([a.aget('a'), b.aget('a')])
      await b.asetExpiry(expiry)
      await b.asave()
      await a.aset('x', LONG)
      fx!.server.stats.reset()
      await a.asave()
      expect(fx!.server.stats.total).toBe(2)
      const pttl = await fx!.direct.pttl(await hashedKey(key, prefix))
      expect(pttl).toBeGreaterThan(low)
      expect(pttl).toBeLessThanOrEqual(high)
      expect(await store.engine.load(key)).toEqual({ a: 1, _session_expiry: expiry, x: LONG })
    }
  })

  it('item 5: an absurd expiry is refused before any request; a script handed one writes nothing and leaves no key without a TTL', async () => {
    const prefix = uniquePrefix('absurd')
    const store = makeStore({ prefix })
    const key = await seed(store, { a: 1 })
    const s = store.open(key)
    await s.aget('a')
    fx!.server.stats.reset()
    await expect(s.asetExpiry(1e14)).rejects.toMatchObject({ code: 'ERR_SESSION_EXPIRY_TOO_LONG' })
    const write = { data: new Map([['b', 2]]), changed: new Set(['b']), deleted: new Set<string>(), replace: false, expiryAge: 1e14, expiryAgeOf: () => 1e14 }
    await expect(store.engine.save(key, write, { mustCreate: false })).rejects.toMatchObject({ code: 'ERR_SESSION_EXPIRY_TOO_LONG' })
    expect(fx!.server.stats.total).toBe(0)
    // A client that inflates the TTL on the way: the script itself refuses, before its first write.
    const client = fx!.client()
    const inflating = {
      eval: (script: string, keys: string[], args: string[]) => client.eval(script, keys, args.map((arg, i) => (i === 1 ? '100000000000000' : arg))),
      del: client.del.bind(client),
      exists: client.exists.bind(client),
    } as unknown as UpstashEngineOptions['redis']
    const tampered = createSessionStore({ secret: SECRET, engine: upstashEngine({ redis: inflating, prefix }) })
    const update = tampered.open(key)
    await update.aset('b', 2)
    await expect(update.asave()).rejects.toBeInstanceOf(SessionStoreUnavailable)
    const fresh = tampered.open()
    await fresh.aset('c', 3)
    await expect(fresh.asave()).rejects.toBeInstanceOf(SessionStoreUnavailable)
    const keys = await fx!.direct.keys(`${prefix}*`)
    expect(keys).toEqual([await hashedKey(key, prefix)])
    for (const k of keys) expect(await fx!.direct.pttl(k)).toBeGreaterThan(0)
    expect(await store.engine.load(key)).toEqual({ a: 1 })
  })

  it('item 7: acycleKey() racing a logout fails in the script, and no record holds the data', async () => {
    const prefix = uniquePrefix('cyclelogout')
    const store = makeStore({ prefix })
    const key = await seed(store, { user: 'ada' })
    const a = store.open(key)
    expect(await a.aget('user')).toBe('ada')
    await store.open(key).aflush()
    fx!.server.stats.reset()
    await expect(a.acycleKey()).rejects.toBeInstanceOf(SessionInterrupted)
    expect(fx!.server.stats.total).toBe(1)
    expect(await fx!.direct.keys(`${prefix}*`)).toEqual([])
  })

  it('item 10: SessionStoreUnavailable carries no session data, in its message or its cause, as a logger prints them', async () => {
    const store = makeStore()
    const session = store.open()
    await session.aset('card', 'PAN-4111111111111111')
    fx!.server.faults.inject({ status: 400, body: '{"error":"ERR something"}' })
    const error = (await session.asave().catch((err: unknown) => err)) as SessionStoreUnavailable
    expect(error).toBeInstanceOf(SessionStoreUnavailable)
    expect(error.cause).toBeInstanceOf(Error)
    expect((error.cause as Error).message).toMatch(/ERR something/)
    const printed = [inspect(error, { depth: Infinity, showHidden: true }), String(error.cause), JSON.stringify(error.cause, Object.getOwnPropertyNames(error.cause))]
    for (const text of printed) expect(text).not.toContain('PAN-4111')
    const logged: unknown[] = []
    const spy = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void logged.push(...args))
    console.error(error)
    spy.mockRestore()
    expect(format(...logged)).not.toContain('PAN-4111')
  })

  it('item 11: 20 garbage session cookies cost no request', async () => {
    const store = makeStore()
    const key = await seed(store, { a: 1 })
    const garbage = [
      'x'.repeat(31),
      'x'.repeat(33),
      key.toUpperCase(),
      `${key.slice(0, 31)}-`,
      `${key.slice(0, 31)}_`,
      `${key} `,
      ` ${key.slice(1)}`,
      'a'.repeat(8),
      'a'.repeat(1000),
      '../../etc/passwd/aaaaaaaaaaaaaaaa',
      '%00'.repeat(11),
      '🍪'.repeat(16),
      `${key.slice(0, 30)}é1`,
      'eyJhbGciOiJIUzI1NiJ9.eyJhIjoxfQ.abc',
      '0'.repeat(64),
      `${key}${key}`,
      key.slice(0, 16),
      `${key.slice(0, 31)}\n`,
      `${key.slice(0, 31)}.`,
      'null'.repeat(8).toUpperCase(),
    ]
    expect(garbage).toHaveLength(20)
    fx!.server.stats.reset()
    for (const cookie of garbage) {
      const s = store.open(cookie)
      expect(await s.aget('a')).toBeUndefined()
      expect(s.sessionKey).toBeNull()
      await store.open(cookie).aflush()
    }
    expect(fx!.server.stats.total).toBe(0)
    expect(await store.open(key).aget('a')).toBe(1)
  })
})

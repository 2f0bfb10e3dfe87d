/**
 * The snapshot in front of Upstash (src/snapshot/): real Redis behind the local Upstash REST server, requests
 * counted at the server. Freshness and expiry are checked by setting the clock, never by waiting.
 */
import type { EdgeVM } from '@edge-runtime/vm'
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { commitSession, cookieEngine, createSessionStore, SessionConfigError, type SessionStore } from '../src/index.js'
import { memoryEngine } from '../src/engines/memory.js'
import { upstashEngine } from '../src/engines/upstash.js'
import { withSnapshot } from '../src/snapshot/index.js'
import { bareEdgeVM, bundleForEdge } from './support/edge-vm.js'
import { SECRET, uniquePrefix, upstashFixture } from './support/upstash.js'

const fx = await upstashFixture()
afterAll(() => fx?.close())

const T0 = Date.parse('2026-03-01T12:00:00Z')
const at = (seconds: number) => vi.setSystemTime(T0 + seconds * 1000)
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  at(0)
})
afterEach(() => vi.useRealTimers())

const user = { id: 42, name: 'Ada Lovelace', roles: ['admin', 'editor'], note: 'x'.repeat(80) }

function stores(maxAge = 30) {
  const prefix = uniquePrefix('snapshot')
  const upstash = () => upstashEngine({ redis: { url: fx!.server.url, token: fx!.server.token }, prefix })
  return {
    withSnapshot: createSessionStore({ secret: SECRET, engine: withSnapshot(upstash(), { maxAge }) }),
    /** The same Redis records without a snapshot: what another server (or an admin script) sees. */
    plain: createSessionStore({ secret: SECRET, engine: upstash() }),
  }
}

/** Requests the REST server received while `fn` ran. */
async function requests(fn: () => Promise<unknown>): Promise<number> {
  fx!.server.stats.reset()
  await fn()
  return fx!.server.stats.total
}

async function signIn(store: SessionStore, data: Record<string, unknown> = { user }): Promise<string> {
  const session = store.open()
  await session.aupdate(data)
  const { cookie } = await commitSession(session, { hadCookie: false })
  return cookie!.value
}

const storeKey = (cookie: string) => cookie.split('.')[0]!

describe.skipIf(!fx)('snapshot in front of Upstash', () => {
  it('a fresh snapshot loads with no request at all; the record is in Redis all the same', async () => {
    const { withSnapshot: store, plain } = stores()
    const cookie = await signIn(store)
    expect(cookie).toMatch(/^[a-z0-9]{32}\.ey/)
    let loaded: unknown
    expect(await requests(async () => (loaded = await store.open(cookie).aget('user')))).toBe(0)
    expect(loaded).toEqual(user)
    expect(await plain.open(storeKey(cookie)).aget('user')).toEqual(user)
  })

  it('is trusted for maxAge seconds after it was issued, exactly, then Redis answers (1 request)', async () => {
    const { withSnapshot: store } = stores(30)
    const cookie = await signIn(store)
    at(29)
    expect(await requests(() => store.open(cookie).aget('user'))).toBe(0)
    at(30)
    let loaded: unknown
    expect(await requests(async () => (loaded = await store.open(cookie).aget('user')))).toBe(1)
    expect(loaded).toEqual(user)
  })

  it('writes go through to Redis and re-issue the snapshot with the new data', async () => {
    const { withSnapshot: store, plain } = stores()
    const cookie = await signIn(store)
    at(10)
    const session = store.open(cookie)
    await session.aset('theme' as never, 'dark' as never)
    const { cookie: next } = await commitSession(session, { hadCookie: true })
    expect(next!.value).not.toBe(cookie)
    expect(storeKey(next!.value)).toBe(storeKey(cookie))
    expect(await plain.open(storeKey(cookie)).aget('theme')).toBe('dark')
    // The new snapshot is fresh from its own issue time (10 s), and holds the change.
    at(39)
    let theme: unknown
    expect(await requests(async () => (theme = await store.open(next!.value).aget('theme' as never)))).toBe(0)
    expect(theme).toBe('dark')
  })

  it('the documented cost: a copy of the cookie outlives a logout elsewhere by at most maxAge', async () => {
    const { withSnapshot: store, plain } = stores(30)
    const cookie = await signIn(store)
    // Logout in another browser (or "sign out other devices"): the record is gone from Redis.
    at(5)
    await plain.open(storeKey(cookie)).aflush()
    expect(await plain.open(storeKey(cookie)).aget('user')).toBeUndefined()
    at(29)
    expect(await store.open(cookie).aget('user')).toEqual(user)
    at(30)
    const copy = store.open(cookie)
    expect(await copy.aget('user')).toBeUndefined()
    expect(copy.sessionKey).toBeNull()
  })

  it('a write from a snapshot of a session ended elsewhere does not bring it back', async () => {
    const { withSnapshot: store, plain } = stores(30)
    const cookie = await signIn(store)
    await plain.open(storeKey(cookie)).aflush()
    const session = store.open(cookie)
    await session.aset('theme' as never, 'dark' as never)
    await expect(commitSession(session, { hadCookie: true })).rejects.toThrow()
    expect(await plain.open(storeKey(cookie)).aget('user')).toBeUndefined()
  })

  it('a logout in the same browser deletes the cookie, snapshot and all, at once', async () => {
    const { withSnapshot: store } = stores()
    const cookie = await signIn(store)
    const session = store.open(cookie)
    await session.aflush()
    const { cookie: deletion } = await commitSession(session, { hadCookie: true })
    expect(deletion).toMatchObject({ value: '', maxAge: 0 })
  })

  it('data too large for a cookie gets no snapshot: the cookie is the bare key, and loads from Redis', async () => {
    const { withSnapshot: store } = stores()
    // Random text does not compress: far over 4 KB in any cookie.
    const big = { blob: Array.from(crypto.getRandomValues(new Uint8Array(3000)), (b) => b.toString(16).padStart(2, '0')).join('') }
    const cookie = await signIn(store, big)
    expect(cookie).toMatch(/^[a-z0-9]{32}$/)
    let loaded: unknown
    expect(await requests(async () => (loaded = await store.open(cookie).aget('blob' as never)))).toBe(1)
    expect(loaded).toBe(big.blob)
  })

  it("never loads a snapshot for another key, a tampered one, or a signed-cookie session's token", async () => {
    const { withSnapshot: store } = stores()
    const a = await signIn(store, { user: 'ada' })
    const b = await signIn(store, { user: 'bob' })
    const mixed = `${storeKey(b)}.${a.slice(a.indexOf('.') + 1)}`
    let loaded: unknown
    expect(await requests(async () => (loaded = await store.open(mixed).aget('user')))).toBe(1)
    expect(loaded).toBe('bob')
    const tampered = a.slice(0, -3) + (a.at(-3) === 'A' ? 'B' : 'A') + a.slice(-2)
    expect(await requests(async () => (loaded = await store.open(tampered).aget('user')))).toBe(1)
    expect(loaded).toBe('ada')
    // Same secret, signed-cookie engine: its tokens are not snapshots, and snapshots are not its sessions.
    const cookieStore = createSessionStore({ secret: SECRET, engine: cookieEngine() })
    const data = new Map<string, unknown>([['user', 'mallory'], ['_snapshot_of', storeKey(a)]])
    const signed = await cookieStore.engine.save('', { data, changed: new Set(data.keys()), deleted: new Set(), replace: true, expiryAge: 100, expiryAgeOf: () => 100 }, { mustCreate: true })
    expect(await store.open(`${storeKey(a)}.${signed}`).aget('user')).toBe('ada')
    expect(await cookieStore.open(a.slice(a.indexOf('.') + 1)).aget('user')).toBeUndefined()
  })

  it('login cycles the key: the new cookie has a new store key and its own snapshot; the old key is gone', async () => {
    const { withSnapshot: store, plain } = stores()
    const cookie = await signIn(store, { cart: [1, 2] })
    const session = store.open(cookie)
    await session.acycleKey()
    await session.aset('user', 'ada')
    const { cookie: next } = await commitSession(session, { hadCookie: true })
    expect(storeKey(next!.value)).not.toBe(storeKey(cookie))
    expect(await requests(() => store.open(next!.value).aget('user'))).toBe(0)
    expect(await plain.open(storeKey(cookie)).aget('cart')).toBeUndefined()
    expect(await plain.open(storeKey(next!.value)).aget('user')).toBe('ada')
  })
})

describe.skipIf(!fx)('the 2-request login from a fresh snapshot, under a racing logout', () => {
  const login = async (store: SessionStore, cookie: string) => {
    const session = store.open(cookie)
    await session.acycleKey()
    await session.aset('user', 'ada')
    return (await commitSession(session, { hadCookie: true })).cookie!.value
  }

  it('takes 2 requests (cycle, save) and leaves the old key dead', async () => {
    const { withSnapshot: store, plain } = stores()
    const cookie = await signIn(store, { cart: [1] })
    let next = ''
    expect(await requests(async () => (next = await login(store, cookie)))).toBe(2)
    expect(await plain.open(storeKey(cookie)).akeys()).toEqual([])
    expect(await plain.open(storeKey(next)).aget('user')).toBe('ada')
  })

  it('after a logout elsewhere, the login from the still-fresh snapshot fails and brings nothing back', async () => {
    const { withSnapshot: store, plain } = stores()
    const cookie = await signIn(store, { cart: [1] })
    await plain.open(storeKey(cookie)).aflush()
    await expect(login(store, cookie)).rejects.toThrow()
    expect(await plain.open(storeKey(cookie)).akeys()).toEqual([])
  })

  it('racing: whichever lands first, no session of the old data outlives both, and the old key is dead', async () => {
    for (let i = 0; i < 10; i++) {
      const { withSnapshot: store, plain } = stores()
      const cookie = await signIn(store, { cart: [i] })
      const [loggedIn] = await Promise.allSettled([login(store, cookie), plain.open(storeKey(cookie)).aflush()])
      expect(await plain.open(storeKey(cookie)).akeys()).toEqual([])
      if (loggedIn.status === 'fulfilled') {
        // The login won: its new key holds the data, and the logout ended only the old key (as it would have
        // a moment later). Ending the new session is the new session's logout, not this one's.
        expect(await plain.open(storeKey(loggedIn.value)).aget('cart')).toEqual([i])
      }
    }
  })
})

describe.skipIf(!fx)('snapshot in a bare EdgeVM (Web Crypto, fflate, the VM\'s fetch)', () => {
  let vm: EdgeVM
  const inVM = async <T>(fn: string, ...args: unknown[]): Promise<T> =>
    JSON.parse(await (vm.evaluate(`Promise.resolve(SnapshotEdge.${fn}(...${JSON.stringify(args)})).then((r) => JSON.stringify(r))`) as Promise<string>)) as T

  it('writes snapshots Node reads with no request, and reads Node\'s with none', async () => {
    vi.useRealTimers()
    vm = bareEdgeVM(await bundleForEdge('test/fixtures/snapshot-edge-app.ts', 'SnapshotEdge'))
    expect(vm.evaluate('typeof process')).toBe('undefined')
    const prefix = uniquePrefix('snapshot-edge')
    const node = createSessionStore({ secret: SECRET, engine: withSnapshot(upstashEngine({ redis: { url: fx!.server.url, token: fx!.server.token }, prefix }), { maxAge: 30 }) })
    const fromEdge = await inVM<string>('signIn', fx!.server.url, fx!.server.token, SECRET, prefix, { user })
    expect(fromEdge).toMatch(/^[a-z0-9]{32}\.ey/)
    let items: unknown
    expect(await requests(async () => (items = await node.open(fromEdge).aitems()))).toBe(0)
    expect(items).toEqual([['user', user]])
    const fromNode = await signIn(node, { user })
    expect(await requests(async () => (items = await inVM('read', fx!.server.url, fx!.server.token, SECRET, prefix, fromNode)))).toBe(0)
    expect(items).toEqual([['user', user]])
  })
})

describe('withSnapshot options', () => {
  it('maxAge 0 turns it off: the engine is the inner one, unchanged', () => {
    const inner = memoryEngine()
    const settingsStore = createSessionStore({ secret: SECRET, engine: inner })
    const off = withSnapshot(inner, { maxAge: 0 })(settingsStore.settings)
    expect(off.keyHoldsData).toBeFalsy()
  })

  it('refuses a maxAge that is not a whole number of seconds ≥ 0, naming the option', () => {
    for (const bad of [-1, 1.5, Number.NaN]) {
      expect(() => withSnapshot(memoryEngine(), { maxAge: bad })).toThrow(SessionConfigError)
      expect(() => withSnapshot(memoryEngine(), { maxAge: bad })).toThrow(/snapshot\.maxAge/)
    }
  })

  it('refuses to wrap an engine that already keeps the session in the cookie', () => {
    expect(() => createSessionStore({ secret: SECRET, engine: withSnapshot(cookieEngine()) })).toThrow(SessionConfigError)
  })
})

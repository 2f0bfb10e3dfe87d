/**
 * The fast paths of a cookie session's write (issue 11.1), each against what it skips: no random key drawn for an
 * engine that makes its own, values changed in place still saved and still checked though the cookie engine keeps no
 * snapshot of them, and zlib run with a window sized to the input still writing DEFLATE anyone reads.
 */
import { inflateSync } from 'fflate'
import { deflateRawSync } from 'node:zlib'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { commitSession } from '../src/core/http.js'
import { writeReserved } from '../src/core/session.js'
import { cookieEngine } from '../src/engines/cookie.js'
import { SessionSerializationError } from '../src/errors.js'
import { deflate } from '../src/lib/compress.js'
import { revocable, SESSION_ID_KEY, type RevocationStore } from '../src/revocation/index.js'
import { createSessionStore, type SessionStore } from '../src/store.js'
import { USER_ID_KEY } from '../src/users/index.js'

const SECRET = 'write-path test secret, 32 bytes or more'

afterEach(() => vi.restoreAllMocks())

async function newCookie(store: SessionStore, data: Record<string, unknown>): Promise<string> {
  const session = store.open()
  for (const [k, v] of Object.entries(data)) await session.aset(k, v)
  const { cookie } = await commitSession(session, { hadCookie: false })
  return cookie!.value
}

describe('a new session on an engine that makes its own key', () => {
  it('draws no random key: a signed cookie is written without a getRandomValues call', async () => {
    const store = createSessionStore({ secret: SECRET, engine: cookieEngine() })
    expect(store.engine.makesOwnKey).toBe(true)
    const draws = vi.spyOn(crypto, 'getRandomValues')
    const value = await newCookie(store, { userId: 42, role: 'admin' })
    expect(draws).not.toHaveBeenCalled()
    expect(await store.open(value).aget('userId')).toBe(42)
  })

  it('an encrypted cookie draws its IV only (one call per save), and a key cycle still issues a new cookie', async () => {
    const store = createSessionStore({ secret: SECRET, engine: cookieEngine({ encrypt: true }) })
    const draws = vi.spyOn(crypto, 'getRandomValues')
    const value = await newCookie(store, { userId: 42 })
    expect(draws).toHaveBeenCalledTimes(1)
    const session = store.open(value)
    await session.acycleKey()
    expect(session.sessionKey).not.toBe(value)
    expect(await store.open(session.sessionKey).aget('userId')).toBe(42)
  })

  it('revocation tracks each new session under a fresh random id, also when wrapped by hand around the bare engine', async () => {
    const tracked: string[] = []
    const revocation: RevocationStore = {
      isLive: async () => true,
      track: async (_userId, sessionId) => void tracked.push(sessionId),
      list: async () => [],
      end: async () => {},
    }
    const bySetting = createSessionStore({ secret: SECRET, engine: cookieEngine({ revocation }) })
    const settings = bySetting.settings
    // revocable() is exported for wrapping an engine yourself; the bare cookie engine it wraps says it makes its own key.
    const byHand = createSessionStore({ secret: SECRET, engine: revocable(cookieEngine()(settings), revocation) })
    for (const store of [bySetting, byHand]) {
      expect(store.engine.makesOwnKey).toBe(false)
      // Bound to a user as alogin() binds it, then saved as a new session.
      const session = store.open()
      await session[writeReserved](USER_ID_KEY, 'u1')
      const value = (await commitSession(session, { hadCookie: false })).cookie!.value
      const id = tracked.at(-1)!
      expect(id).toMatch(/^[a-z0-9]{32}$/)
      expect(await store.open(value).ahas(SESSION_ID_KEY)).toBe(true)
    }
    expect(new Set(tracked).size).toBe(2)
  })
})

describe('values changed in place, on the cookie engine (no snapshots kept)', () => {
  const store = createSessionStore({ secret: SECRET, engine: cookieEngine() })

  it('a nested edit made after aset, before the save, is in the cookie', async () => {
    const session = store.open()
    const cart = { items: [{ sku: 'A', qty: 1 }] }
    await session.aset('cart', cart)
    cart.items.push({ sku: 'B', qty: 2 })
    const { cookie } = await commitSession(session, { hadCookie: false })
    expect(await store.open(cookie!.value).aget('cart')).toEqual({ items: [{ sku: 'A', qty: 1 }, { sku: 'B', qty: 2 }] })
  })

  it('a nested edit to a loaded value is saved once the session is marked modified', async () => {
    const value = await newCookie(store, { cart: { items: [1] }, other: 'x' })
    const session = store.open(value)
    const cart = (await session.aget('cart')) as { items: number[] }
    cart.items.push(2)
    session.modified = true
    const { cookie } = await commitSession(session, { hadCookie: true })
    expect(await store.open(cookie!.value).aitems()).toEqual([
      ['cart', { items: [1, 2] }],
      ['other', 'x'],
    ])
  })

  it('a value made unserializable in place after aset is still refused at the save, and nothing is written', async () => {
    const session = store.open()
    const prefs = { theme: 'dark' as unknown }
    await session.aset('prefs', prefs)
    prefs.theme = new Date(0)
    await expect(commitSession(session, { hadCookie: false })).rejects.toThrow(SessionSerializationError)
    expect(session.sessionKey).toBeNull()
  })
})

describe("Node's zlib with a window sized to the input", () => {
  const text = (n: number) => new TextEncoder().encode(JSON.stringify(Array.from({ length: n }, (_, i) => ({ id: i, name: `item ${i % 17}` }))))

  it.each([130, 600, 5000, 40_000])('a %i-item body deflates to DEFLATE that fflate reads back, no larger than zlib with its full window', (n) => {
    const body = text(n)
    const packed = deflate(body)
    expect(inflateSync(packed)).toEqual(body)
    expect(packed.length).toBeLessThanOrEqual(deflateRawSync(body, { level: 6 }).length)
  })
})

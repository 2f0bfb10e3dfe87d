// The cookie engine remembers cookies it has verified (src/engines/cookie.ts, VERIFIED_CACHE_SIZE):
// a remembered cookie must behave exactly as one verified afresh.
import nodeCrypto from 'node:crypto'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { cookieEngine, createSessionStore } from '../src/index.js'

const SECRET = 'a test secret of thirty-two bytes'
const base64url = (text: string) => Buffer.from(text).toString('base64url')
const T0 = new Date('2024-01-01T12:00:00Z')

afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
})

describe.each([false, true])('cookie engine, encrypt: %s, verified-cookie cache', (encrypt) => {
  const newStore = () => createSessionStore({ secret: SECRET, engine: cookieEngine({ encrypt }) })
  /**
   * Counts signature checks: a JWS is verified with Node's HMAC where the runtime has it (src/lib/hs256.ts,
   * one createHmac per check) and with crypto.subtle.verify elsewhere; a JWE is opened with crypto.subtle.decrypt.
   */
  const checks = () => {
    if (encrypt) return vi.spyOn(crypto.subtle, 'decrypt')
    const subtle = vi.spyOn(crypto.subtle, 'verify')
    const hmac = vi.spyOn(nodeCrypto, 'createHmac')
    return { get count() { return subtle.mock.calls.length + hmac.mock.calls.length } }
  }
  const count = (spy: ReturnType<typeof checks>) => ('count' in spy ? spy.count : spy.mock.calls.length)

  async function tokenFor(store: ReturnType<typeof newStore>, data: Record<string, unknown>, expiry?: number): Promise<string> {
    const session = store.open()
    await session.aupdate(data)
    if (expiry !== undefined) await session.asetExpiry(expiry)
    await session.asave()
    return session.sessionKey!
  }

  it('verifies a cookie once, then loads it again without a crypto call', async () => {
    const store = newStore()
    const token = await tokenFor(store, { user: 'ada' })
    const calls = checks()
    expect(await store.open(token).aget('user')).toBe('ada')
    expect(await store.open(token).aget('user')).toBe('ada')
    expect(count(calls)).toBe(1)
  })

  it('still enforces the expiry of a remembered cookie', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(T0)
    const store = newStore()
    const token = await tokenFor(store, { user: 'ada' }, 60)
    expect(await store.open(token).aget('user')).toBe('ada')
    vi.setSystemTime(new Date(T0.getTime() + 60_000))
    const expired = store.open(token)
    expect(await expired.aget('user')).toBeUndefined()
    expect(expired.sessionKey).toBeNull()
  })

  it('hands each load its own objects: a change in place does not reach the next load', async () => {
    const store = newStore()
    const token = await tokenFor(store, { cart: { items: ['tea'] } })
    const first = (await store.open(token).aget('cart')) as { items: string[] }
    first.items.push('scones')
    expect(await store.open(token).aget('cart')).toEqual({ items: ['tea'] })
  })

  it('decodes a remembered cookie whose values are all primitives once, and hands each load its own record', async () => {
    const loads = vi.fn((text: string) => JSON.parse(text) as unknown)
    const store = createSessionStore({ secret: SECRET, engine: cookieEngine({ encrypt }), serializer: { dumps: (v) => JSON.stringify(v), loads } })
    const token = await tokenFor(store, { user: 'ada', visits: 3, admin: false, note: null })
    const first = (await store.engine.load(token)) as Record<string, unknown>
    expect(first).toEqual({ user: 'ada', visits: 3, admin: false, note: null })
    first.user = 'mallory'
    delete first.visits
    expect(await store.engine.load(token)).toEqual({ user: 'ada', visits: 3, admin: false, note: null })
    expect(loads).toHaveBeenCalledTimes(1)
  })

  it('decodes a remembered cookie holding an object on every load (fresh objects each time)', async () => {
    const loads = vi.fn((text: string) => JSON.parse(text) as unknown)
    const store = createSessionStore({ secret: SECRET, engine: cookieEngine({ encrypt }), serializer: { dumps: (v) => JSON.stringify(v), loads } })
    const token = await tokenFor(store, { user: 'ada', cart: ['tea'] })
    const first = (await store.engine.load(token)) as Record<string, unknown>
    ;(first.cart as string[]).push('scones')
    expect(await store.engine.load(token)).toEqual({ user: 'ada', cart: ['tea'] })
    expect(loads).toHaveBeenCalledTimes(2)
  })

  it('never remembers a cookie that failed: a tampered one is refused every time', async () => {
    const store = newStore()
    const token = await tokenFor(store, { user: 'ada' })
    // Inside the signature (JWS) or the tag (JWE), so the check runs and fails.
    const i = token.length - 2
    const bad = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1)
    const calls = checks()
    for (let n = 0; n < 3; n++) expect(await store.open(bad).aget('user')).toBeUndefined()
    expect(count(calls)).toBe(3)
  })

  it('stays bounded: after 256 other cookies, the first is verified again', async () => {
    const store = newStore()
    const first = await tokenFor(store, { n: 0 })
    await store.open(first).aget('n')
    for (let n = 1; n <= 256; n++) await store.open(await tokenFor(store, { n })).aget('n')
    const calls = checks()
    expect(await store.open(first).aget('n')).toBe(0)
    expect(count(calls)).toBe(1)
  })

  it('refuses a cookie over 8192 characters without a crypto call', async () => {
    const store = newStore()
    const calls = checks()
    // Shaped like our tokens, so only the length keeps them from the crypto: "A" is base64url for zero bits.
    const jws = `eyJhbGciOiJIUzI1NiJ9.${'A'.repeat(8200)}.${'A'.repeat(43)}`
    const jwe = `${base64url('{"alg":"dir","enc":"A256GCM"}')}..${'A'.repeat(16)}.${'A'.repeat(8200)}.${'A'.repeat(22)}`
    expect(await store.open(encrypt ? jwe : jws).aget('user')).toBeUndefined()
    expect(count(calls)).toBe(0)
  })

  it('holds exactly 256: the first cookie is remembered through 255 others, and the 257th pushes it out (first in, first out)', async () => {
    const store = newStore()
    const first = await tokenFor(store, { n: 0 })
    await store.open(first).aget('n')
    for (let n = 1; n <= 255; n++) await store.open(await tokenFor(store, { n })).aget('n')
    const newcomer = await tokenFor(store, { n: 256 })
    const calls = checks()
    expect(await store.open(first).aget('n')).toBe(0)
    expect(count(calls)).toBe(0)
    // A hit does not refresh its place: the next newcomer still evicts the oldest entry.
    expect(await store.open(newcomer).aget('n')).toBe(256)
    expect(count(calls)).toBe(1)
    expect(await store.open(first).aget('n')).toBe(0)
    expect(count(calls)).toBe(2)
  })
})

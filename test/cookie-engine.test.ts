import { CompactEncrypt, CompactSign, compactDecrypt } from 'jose'
const GOLDEN = 'eyJhbGciOiJIUzI1NiJ9.MTcwNDExMDQwMC0xNzA1MzIwMDAwOnsiYSI6ImIifQ.1x609ybE2Il__PLA1vElUwlQ0QS-KVPOr7PoqdFVLoM'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { commitSession, cookieEngine, createSessionStore, SessionConfigError, SessionTooLarge, type SessionOptions } from '../src/index.js'
import type { CookieEngineOptions } from '../src/engines/cookie.js'
import { deriveKey } from '../src/lib/crypto.js'

const SECRET = 'a test secret of thirty-two bytes'
const OTHER = 'another secret, also 32 bytes!!!'
const M = new Date('2024-01-01T12:00:00Z')
const T = M.getTime() / 1000
const COOKIE_AGE = 1209600

const storeOf = (engine: CookieEngineOptions = {}, options: SessionOptions = {}) =>
  createSessionStore({ secret: SECRET, ...options, engine: cookieEngine(engine) })

const decode = (part: string) => new Uint8Array(Buffer.from(part, 'base64url'))
const text = (part: string) => Buffer.from(part, 'base64url').toString('latin1')

/** Saves `data` in a new session and returns the cookie value. */
async function tokenFor(store: ReturnType<typeof storeOf>, data: Record<string, unknown>, expiry?: number): Promise<string> {
  const session = store.open()
  await session.aupdate(data)
  if (expiry !== undefined) await session.asetExpiry(expiry)
  await session.asave()
  return session.sessionKey as string
}

/** Loads `token` and returns the data, or null when the engine refused it. */
async function load(store: ReturnType<typeof storeOf>, token: string): Promise<Record<string, unknown> | null> {
  const session = store.open(token)
  const items = await session.aitems()
  return session.sessionKey === null ? null : Object.fromEntries(items)
}

/** The key the engine signs with, derived the same way, so tests can forge well-signed tokens the engine must still refuse. */
const signingKey = () => deriveKey(SECRET, 'edge-session/cookie HS256', { name: 'HMAC', hash: 'SHA-256', length: 256 }, ['sign'])
const sign = async (payload: string, header: Record<string, unknown> = { alg: 'HS256' }) =>
  new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader(header as { alg: string }).sign(await signingKey())

afterEach(() => vi.useRealTimers())

const freeze = (at: Date) => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(at)
}

describe('token format', () => {
  it('is a JWS with exactly {"alg":"HS256"} and a payload of "<issued>-<expires>:<json>" (golden vector)', async () => {
    freeze(M)
    const token = await tokenFor(storeOf(), { a: 'b' })
    const [header, payload] = token.split('.')
    expect(text(header!)).toBe('{"alg":"HS256"}')
    expect(text(payload!)).toBe(`${T}-${T + COOKIE_AGE}:{"a":"b"}`)
    // Pins the format and the HKDF key derivation: a change here logs every user out.
    expect(token).toBe(GOLDEN)
  })

  it('HS256 is pinned: another alg, "none", or extra header fields are refused even when well signed', async () => {
    freeze(M)
    const store = storeOf()
    const good = await sign(`${T}-${T + 60}:{"a":1}`)
    expect(await load(store, good)).toEqual({ a: 1 })
    const [, payload, signature] = good.split('.')
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`
    const hs512 = `${Buffer.from('{"alg":"HS512"}').toString('base64url')}.${payload}.${signature}`
    const withKid = await sign(`${T}-${T + 60}:{"a":1}`, { alg: 'HS256', kid: 'x' })
    const unencoded = await sign(`${T}-${T + 60}:{"a":1}`, { alg: 'HS256', b64: false, crit: ['b64'] }).catch(() => null)
    for (const token of [none, hs512, withKid, unencoded].filter((t): t is string => t !== null)) {
      expect(await load(store, token)).toBeNull()
    }
  })

  it('well-signed payloads that are malformed load as an empty session', async () => {
    freeze(M)
    const store = storeOf()
    const times = `${T}-${T + 60}`
    for (const payload of [`{"a":1}`, times, `${times}:`, `${times}:[1,2]`, `${times}:"text"`, `${times}:null`, `${times}?{"a":1}`, `${times}.notdeflate`,
      // The old "<expires>:" format, without an issue time, and times out of shape.
      `${T + 60}:{"a":1}`, `-${T + 60}:{"a":1}`, `${T}-:{"a":1}`, `${T}--${T + 60}:{"a":1}`, `0${T}-${T + 60}0:{"a":1}`]) {
      expect(await load(store, await sign(payload))).toBeNull()
    }
  })

  it('the times are joined by "-" only, and a payload that cannot be read is null from the engine itself', async () => {
    freeze(M)
    const store = storeOf()
    expect(await store.engine.load(await sign(`${T}-${T + 60}:{"a":1}`))).toEqual({ a: 1 })
    for (const payload of [`${T}+${T + 60}:{"a":1}`, `${T}:${T + 60}:{"a":1}`, `${T}-${T + 60}:{not json`]) {
      expect(await store.engine.load(await sign(payload))).toBeNull()
    }
  })

  it('cycleKey within the same second re-signs to the same value, as Django does (item 118)', async () => {
    freeze(M)
    const store = storeOf()
    const session = store.open(await tokenFor(store, { a: 1 }))
    const before = session.sessionKey
    await session.acycleKey()
    expect(session.sessionKey).toBe(before)
  })
})

describe('expiry is enforced by the server', () => {
  it('differs from Django: a cookie loads until cookieAge seconds after its save, and not at exactly cookieAge (Django still accepts age == cookieAge, item 107)', async () => {
    freeze(M)
    const store = storeOf()
    const token = await tokenFor(store, { a: 1 })
    vi.setSystemTime(new Date((T + COOKIE_AGE) * 1000 - 1))
    expect(await load(store, token)).toEqual({ a: 1 })
    vi.setSystemTime(new Date((T + COOKIE_AGE) * 1000))
    expect(await load(store, token)).toBeNull()
  })

  it('differs from Django: asetExpiry(n) is enforced by the server too (Django ticket #19201 enforces only cookieAge)', async () => {
    freeze(M)
    const store = storeOf()
    const token = await tokenFor(store, { a: 1 }, 60)
    expect(text(token.split('.')[1]!)).toMatch(new RegExp(`^${T}-${T + 60}:`))
    vi.setSystemTime(new Date((T + 60) * 1000 - 1))
    expect(await load(store, token)).toEqual({ a: 1, _session_expiry: 60 })
    vi.setSystemTime(new Date((T + 60) * 1000))
    expect(await load(store, token)).toBeNull()
  })

  it('a browser-close session is capped at cookieAge on the server', async () => {
    for (const [options, expiry] of [
      [{ expireAtBrowserClose: true }, undefined],
      [{}, 0],
    ] as const) {
      freeze(M)
      const store = storeOf({}, { ...options, cookieAge: 3600 })
      const token = await tokenFor(store, { a: 1 }, expiry)
      expect(text(token.split('.')[1]!)).toMatch(new RegExp(`^${T}-${T + 3600}:`))
      vi.setSystemTime(new Date((T + 3600) * 1000 - 1))
      expect(await load(store, token)).toEqual({ a: 1, ...(expiry === undefined ? {} : { _session_expiry: 0 }) })
      vi.setSystemTime(new Date((T + 3600) * 1000))
      expect(await load(store, token)).toBeNull()
    }
  })
})

describe('secret rotation', () => {
  it.each([false, true])('encrypt %s: a cookie made with a fallback secret loads, and its next save uses the current secret', async (encrypt) => {
    const old = await tokenFor(storeOf({ encrypt }, { secret: OTHER }), { a: 1 })
    const rotated = storeOf({ encrypt }, { secret: SECRET, secretFallbacks: [OTHER] })
    const session = rotated.open(old)
    expect(await session.aget('a')).toBe(1)
    expect(session.modified).toBe(false)
    await session.aset('b', 2)
    await session.asave()
    const current = storeOf({ encrypt }, { secret: SECRET })
    expect(await load(current, session.sessionKey as string)).toEqual({ a: 1, b: 2 })
    expect(await load(current, old)).toBeNull()
    expect(await load(storeOf({ encrypt }, { secret: OTHER }), session.sessionKey as string)).toBeNull()
  })
})

describe('compression', () => {
  it('deflates large data (flag ".") and round-trips it; tiny data stays plain (flag ":")', async () => {
    const store = storeOf()
    const big = { big: 'x'.repeat(2000), list: Array.from({ length: 50 }, (_, i) => ({ i })) }
    const bigToken = await tokenFor(store, big)
    expect(text(bigToken.split('.')[1]!)).toMatch(/^\d+-\d+\./)
    expect(bigToken.length).toBeLessThan(600)
    expect(await load(store, bigToken)).toEqual(big)
    const tinyToken = await tokenFor(store, { a: 1 })
    expect(text(tinyToken.split('.')[1]!)).toMatch(/^\d+-\d+:\{"a":1\}$/)
  })

  it('encrypted tokens compress too', async () => {
    const store = storeOf({ encrypt: true })
    const big = { big: 'x'.repeat(2000) }
    const token = await tokenFor(store, big)
    expect(token.length).toBeLessThan(400)
    expect(await load(store, token)).toEqual(big)
  })

  it('refuses a maxInflatedSize that is not a positive whole number, naming the option', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => cookieEngine({ maxInflatedSize: bad })).toThrow(SessionConfigError)
      expect(() => cookieEngine({ maxInflatedSize: bad })).toThrow(/"maxInflatedSize"/)
    }
  })

  it('a payload that inflates past maxInflatedSize is refused; data over it is stored plain so it stays loadable', async () => {
    const big = { big: 'x'.repeat(2000) }
    const compressed = await tokenFor(storeOf(), big)
    const capped = storeOf({ maxInflatedSize: 1000 })
    expect(await load(capped, compressed)).toBeNull()
    const plain = await tokenFor(capped, big)
    expect(text(plain.split('.')[1]!)).toMatch(/^\d+-\d+:\{"big"/)
    expect(await load(capped, plain)).toEqual(big)
  })
})

describe('size limit', () => {
  it('differs from Django: over 4096 bytes is SessionTooLarge at save; nothing changes and the session stays usable', async () => {
    const store = storeOf()
    const session = store.open(await tokenFor(store, { small: 1 }))
    const before = session.sessionKey
    const noise = Buffer.from(crypto.getRandomValues(new Uint8Array(4500))).toString('base64')
    await session.aset('noise', noise)
    const err = await session.asave().then(
      () => null,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(SessionTooLarge)
    expect(err).toMatchObject({ code: 'ERR_SESSION_TOO_LARGE', limit: 4096 })
    expect((err as SessionTooLarge).size).toBeGreaterThan(4096)
    expect((err as SessionTooLarge).message).toContain(`${(err as SessionTooLarge).size} bytes`)
    expect(session.sessionKey).toBe(before)
    expect(await load(store, before as string)).toEqual({ small: 1 })
    // The same request can recover by storing less.
    expect(await session.apop('noise')).toBe(noise)
    await session.aset('b', 2)
    await session.asave()
    expect(await load(store, session.sessionKey as string)).toEqual({ small: 1, b: 2 })
  })

  it('commitSession passes SessionTooLarge on and sets no cookie', async () => {
    const session = storeOf({ encrypt: true }).open()
    await session.aset('noise', Buffer.from(crypto.getRandomValues(new Uint8Array(4500))).toString('base64'))
    await expect(commitSession(session, { hadCookie: false })).rejects.toBeInstanceOf(SessionTooLarge)
    expect(session.sessionKey).toBeNull()
  })
})

describe('bad cookies load as an empty session, never an error', () => {
  it.each([false, true])('encrypt %s: tampered, truncated, expired, wrong secret, wrong mode, garbage', async (encrypt) => {
    freeze(M)
    const store = storeOf({ encrypt })
    const token = await tokenFor(store, { a: 1 }, 60)
    const parts = token.split('.')
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1)
    const bad = [
      // One character changed in each non-empty part (the JWE's key part is empty).
      ...parts.flatMap((part, p) => (part ? [parts.map((other, q) => (q === p ? flip(part, Math.floor(part.length / 2)) : other)).join('.')] : [])),
      token.slice(0, -1),
      token.slice(0, -10),
      parts.slice(0, -1).join('.'),
      token + 'A',
      token + '.x',
      await tokenFor(storeOf({ encrypt }, { secret: OTHER }), { a: 1 }),
      await tokenFor(storeOf({ encrypt: !encrypt }), { a: 1 }),
      '',
      'garbage-garbage',
      'a.b.c',
      'a.b.c.d.e',
      '....',
      'x'.repeat(9000),
      '🍪🍪🍪🍪🍪🍪🍪🍪',
    ]
    for (const value of bad) expect(await load(store, value)).toBeNull()
    vi.setSystemTime(new Date((T + 61) * 1000))
    expect(await load(store, token)).toBeNull()
  })

  it('differs from Django: a bad cookie that was read is deleted by commitSession, not replaced with a signed {} (items 108-109, 152)', async () => {
    const store = storeOf()
    const tampered = (await tokenFor(store, { a: 1 })).slice(0, -2)
    const read = store.open(tampered)
    expect(await read.aget('a')).toBeUndefined()
    expect(await read.aisEmpty()).toBe(true)
    const { cookie, vary } = await commitSession(read, { hadCookie: true })
    expect([cookie?.value, cookie?.maxAge, vary]).toEqual(['', 0, true])
    // Untouched, a bad cookie is left alone, as in Django.
    expect(await commitSession(store.open(tampered), { hadCookie: true })).toEqual({ cookie: null, vary: false })
  })
})

describe('encrypted mode', () => {
  it('is a JWE (dir, A256GCM) whose parts reveal nothing of the data, and a fresh value every save', async () => {
    const store = storeOf({ encrypt: true })
    const secretValue = 'top-secret-value-0123456789'
    const session = store.open()
    await session.aset('card', secretValue)
    await session.asave()
    const token = session.sessionKey as string
    const parts = token.split('.')
    expect(parts).toHaveLength(5)
    expect(JSON.parse(text(parts[0]!))).toEqual({ alg: 'dir', enc: 'A256GCM' })
    expect(parts[1]).toBe('')
    for (const part of parts) {
      expect(text(part)).not.toContain('top-secret')
      expect(text(part)).not.toContain('card')
    }
    expect(token).not.toContain('top-secret')
    expect(decode(parts[2]!)).toHaveLength(12)
    expect(decode(parts[4]!)).toHaveLength(16)
    await session.acycleKey()
    expect(session.sessionKey).not.toBe(token)
    expect(await load(store, session.sessionKey as string)).toEqual({ card: secretValue })
  })

  it('is the JWE jose reads and writes: jose decrypts our cookie, and a cookie jose encrypted loads', async () => {
    // The engine seals on Web Crypto itself (to keep jose's JWE out of edge bundles): the format must not move.
    const key = await deriveKey(SECRET, 'edge-session/cookie A256GCM', { name: 'AES-GCM', length: 256 }, ['encrypt', 'decrypt'])
    const store = storeOf({ encrypt: true })
    const ours = await tokenFor(store, { a: 'b', long: 'x'.repeat(300) })
    const { plaintext, protectedHeader } = await compactDecrypt(ours, key, { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] })
    expect(protectedHeader).toEqual({ alg: 'dir', enc: 'A256GCM' })
    const now = Math.floor(Date.now() / 1000)
    expect(plaintext[`${now}-${now + COOKIE_AGE}`.length]).toBe(0x2e) // deflated, inside the JWE
    const payload = new TextEncoder().encode(`${now}-${now + 60}:{"from":"jose"}`)
    const theirs = await new CompactEncrypt(payload).setProtectedHeader({ alg: 'dir', enc: 'A256GCM' }).encrypt(key)
    expect(await load(store, theirs)).toEqual({ from: 'jose' })
    // The same header with its members swapped is a valid JWE, but not one we write: refused.
    const swapped = await new CompactEncrypt(payload).setProtectedHeader({ enc: 'A256GCM', alg: 'dir' }).encrypt(key)
    expect(await load(store, swapped)).toBeNull()
  })

  it('opens only the 12-byte IV it writes: a JWE sealed with our key and a 16-byte IV is refused', async () => {
    const key = await deriveKey(SECRET, 'edge-session/cookie A256GCM', { name: 'AES-GCM', length: 256 }, ['encrypt', 'decrypt'])
    const store = storeOf({ encrypt: true })
    const header = (await tokenFor(store, { a: 1 })).split('.')[0]!
    const now = Math.floor(Date.now() / 1000)
    const payload = new TextEncoder().encode(`${now}-${now + 60}:{"a":1}`)
    const seal = async (ivBytes: number) => {
      const iv = crypto.getRandomValues(new Uint8Array(ivBytes))
      const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(header) }, key, payload))
      const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url')
      return `${header}..${b64(iv)}.${b64(sealed.subarray(0, -16))}.${b64(sealed.subarray(-16))}`
    }
    expect(await load(store, await seal(12))).toEqual({ a: 1 })
    expect(await load(store, await seal(16))).toBeNull()
  })

  it('refuses our own cookie with an encrypted-key part added: "dir" has none, and one token has one spelling', async () => {
    const store = storeOf({ encrypt: true })
    const parts = (await tokenFor(store, { a: 1 })).split('.')
    expect(await load(store, parts.join('.'))).toEqual({ a: 1 })
    expect(await load(store, [parts[0], 'AAAA', ...parts.slice(2)].join('.'))).toBeNull()
  })
})

describe('integrity (issue 8)', () => {
  it('item 8: lowering cookieAge bounds cookies already issued, at load (Django checks max_age at load)', async () => {
    for (const encrypt of [false, true]) {
      freeze(M)
      const token = await tokenFor(storeOf({ encrypt }), { a: 1 })
      const lowered = storeOf({ encrypt }, { cookieAge: 60 })
      vi.setSystemTime(new Date((T + 59) * 1000))
      expect(await load(lowered, token)).toEqual({ a: 1 })
      vi.setSystemTime(new Date((T + 3600) * 1000))
      expect(await load(lowered, token)).toBeNull()
      // The store it was issued by still has it: the cookie's own expiry is two weeks.
      expect(await load(storeOf({ encrypt }), token)).toEqual({ a: 1 })
      // A custom expiry longer than the current cookieAge is cut to it too, as in Django.
      const long = await tokenFor(storeOf({ encrypt }), { a: 1 }, 30 * 86400)
      vi.setSystemTime(new Date((T + 3600 + COOKIE_AGE) * 1000))
      expect(await load(storeOf({ encrypt }), long)).toBeNull()
    }
  })

  it('item 9: only the spelling we write loads: low bits of the last character, = padding and whitespace are refused', async () => {
    const flipLowBits = (part: string) => {
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
      // The lowest bit of a 2- or 3-character tail is spare (4 or 2 such bits): it decodes to nothing.
      return part.slice(0, -1) + alphabet[alphabet.indexOf(part.at(-1)!) ^ 1]!
    }
    for (const encrypt of [false, true]) {
      const store = storeOf({ encrypt })
      const token = await tokenFor(store, { a: 1, long: 'x'.repeat(200) })
      expect(await load(store, token)).not.toBeNull()
      const parts = token.split('.')
      const variants: string[] = []
      parts.forEach((part, i) => {
        if (!part) return
        const swap = (replacement: string) => variants.push(parts.map((p, j) => (i === j ? replacement : p)).join('.'))
        if (part.length % 4 >= 2) swap(flipLowBits(part))
        swap(`${part}=`)
        swap(`${part}==`)
        swap(`${part.slice(0, 4)} ${part.slice(4)}`)
        swap(`${part.slice(0, 4)}\n${part.slice(4)}`)
        swap(`${part}\t`)
      })
      expect(variants.length).toBeGreaterThan(10)
      for (const variant of variants) {
        expect(variant).not.toBe(token)
        expect(await load(store, variant)).toBeNull()
      }
    }
  })

  it('item 5: an expiry over 400 days is refused at asetExpiry, so no cookie is saved that never loads again', async () => {
    for (const encrypt of [false, true]) {
      const session = storeOf({ encrypt }).open()
      await session.aset('a', 1)
      await expect(session.asetExpiry(1e16)).rejects.toMatchObject({ code: 'ERR_SESSION_EXPIRY_TOO_LONG' })
      await session.asetExpiry(400 * 86400)
      await session.asave()
      expect(await load(storeOf({ encrypt }), session.sessionKey!)).toEqual({ a: 1, _session_expiry: 400 * 86400 })
    }
  })

  it('issue 14 item 2: a save sets modified (Django signed_cookies), and commitSession then sends the re-signed value', async () => {
    freeze(M)
    const store = storeOf()
    const token = await tokenFor(store, { a: 1 })
    vi.setSystemTime(new Date((T + 10) * 1000))
    const session = store.open(token)
    expect(session.modified).toBe(false)
    await session.asave()
    expect(session.modified).toBe(true)
    expect(session.sessionKey).not.toBe(token)
    const { cookie } = await commitSession(session, { hadCookie: true })
    expect(cookie?.value).toBe(session.sessionKey)
    expect(cookie?.maxAge).toBe(COOKIE_AGE)
    expect(text(cookie!.value.split('.')[1]!)).toMatch(new RegExp(`^${T + 10}-${T + 10 + COOKIE_AGE}:`))
  })
})

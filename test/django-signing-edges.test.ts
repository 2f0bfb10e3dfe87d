/**
 * The edges of Django's signed-cookie format (src/engines/django-cookie.ts) that Django itself never writes:
 * tokens signed with the right key yet malformed (a missing or oversized timestamp, one colon, not JSON),
 * the size and age limits to the second and to the character, the compression rule to the byte, and the
 * session shapes a Django app can sign that are not a session. The HMAC is computed here as Django's
 * `salted_hmac` does, so a malformed token still carries a valid signature and only the format check stops it.
 * No Python needed: test/django-cookie.test.ts proves the format against real Django.
 */
import { createHash, createHmac } from 'node:crypto'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createSessionStore } from '../src/store.js'
import { DJANGO_SESSION_SALT, DJANGO_SIGNING_SALT, djangoCookieEngine, djangoSigning } from '../src/engines/django-cookie.js'
import { SessionConfigError } from '../src/errors.js'
import { zlibDeflate } from '../src/lib/compress.js'
import { noise } from './support/noise.js'

const SECRET = 'django-signing-edges-secret-0123456789abcdef'
const T0 = Date.parse('2026-06-01T08:00:00Z')
const signing = djangoSigning({ secret: SECRET, salt: DJANGO_SESSION_SALT })

/** `signed:signature` with Django's key derivation (SHA-256 of salt + "signer" + secret), whatever `signed` holds. */
function sign(signed: string, salt = DJANGO_SESSION_SALT, secret = SECRET): string {
  const key = createHash('sha256').update(`${salt}signer${secret}`).digest()
  return `${signed}:${createHmac('sha256', key).update(signed).digest('base64url')}`
}
const b64 = (text: string): string => Buffer.from(text, 'latin1').toString('base64url')
/** The base62 timestamp `dumps` writes at T0. */
async function timestampAtT0(): Promise<string> {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(T0)
  return (await signing.dumps(1)).split(':')[1]!
}
function store(engine = djangoCookieEngine()) {
  return createSessionStore({ secret: SECRET, engine })
}

afterEach(() => {
  vi.useRealTimers()
})

describe('the test signer agrees with djangoSigning', () => {
  it('signs the text before the last colon exactly as dumps() does, under either salt', async () => {
    const token = await signing.dumps({ user: 'ada' })
    expect(sign(token.slice(0, token.lastIndexOf(':')))).toBe(token)
    const plain = await djangoSigning({ secret: SECRET }).dumps({ user: 'ada' })
    expect(sign(plain.slice(0, plain.lastIndexOf(':')), DJANGO_SIGNING_SALT)).toBe(plain)
  })
})

describe('timestamps', () => {
  it('dumps() writes the signing time in base62 seconds, which peek() and loads() read back', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(T0 + 999)
    const token = await signing.dumps({ user: 'ada' })
    expect(signing.peek(token)).toEqual({ value: { user: 'ada' }, signedAt: new Date(T0) })
    expect(await signing.loads(token)).toEqual({ ok: true, value: { user: 'ada' }, signedAt: new Date(T0) })
  })

  it('accepts up to 10 base62 digits (leading zeros included); 11 or none is malformed, though signed', async () => {
    const ts = await timestampAtT0()
    const payload = b64('{"a":1}')
    expect(await signing.loads(sign(`${payload}:${ts.padStart(10, '0')}`))).toEqual({ ok: true, value: { a: 1 }, signedAt: new Date(T0) })
    expect(await signing.loads(sign(`${payload}:${ts.padStart(11, '0')}`))).toEqual({ ok: false, reason: 'malformed' })
    expect(await signing.loads(sign(`${payload}:`))).toEqual({ ok: false, reason: 'malformed' })
  })

  it('a timestamp with a character outside base62 is malformed, though signed (no sign, no padding)', async () => {
    const payload = b64('{"a":1}')
    for (const ts of ['-1', '1xXj-c', '1 ', '1=']) {
      expect(await signing.loads(sign(`${payload}:${ts}`))).toEqual({ ok: false, reason: 'malformed' })
      expect(signing.peek(sign(`${payload}:${ts}`))).toBeNull()
    }
  })

  it('a token with one colon has no timestamp: malformed, even when its one part is signed and reads as data', async () => {
    // "MQ" is base64url for the JSON `1`, and "MQ0" is also valid base62: only the missing second colon refuses it.
    expect(await signing.loads(sign('MQ0'))).toEqual({ ok: false, reason: 'malformed' })
    expect(signing.peek(sign('MQ0'))).toBeNull()
  })
})

describe('what a token may hold', () => {
  it('a signed payload that is not base64url, not zlib or not JSON is malformed, and peek() finds nothing in it', async () => {
    const ts = await timestampAtT0()
    for (const signed of [`${b64('not json')}:${ts}`, `.${b64('not zlib')}:${ts}`, `eyJhIjoxfQ==:${ts}`, `eyJhIjox+Q:${ts}`]) {
      expect(await signing.loads(sign(signed))).toEqual({ ok: false, reason: 'malformed' })
      expect(signing.peek(sign(signed))).toBeNull()
    }
  })

  it('a signature whose last character differs only in unused bits is refused, as Django compares text', async () => {
    const token = await signing.dumps({ user: 'ada' })
    // 32 bytes in 43 characters: the last one carries 4 bits and 2 unused ones.
    const last = token.at(-1)!
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const twin = alphabet[alphabet.indexOf(last) ^ 1]!
    const variant = token.slice(0, -1) + twin
    expect(Buffer.from(variant.split(':')[2]!, 'base64url')).toEqual(Buffer.from(token.split(':')[2]!, 'base64url'))
    expect(await signing.loads(variant)).toEqual({ ok: false, reason: 'bad-signature' })
    expect(await signing.loads(token)).toMatchObject({ ok: true })
  })

  it('a token that is not a string (a missing cookie) is malformed for loads() and null for peek(), never a throw', async () => {
    for (const missing of [undefined, null, 42]) {
      expect(await signing.loads(missing as unknown as string)).toEqual({ ok: false, reason: 'malformed' })
      expect(signing.peek(missing as unknown as string)).toBeNull()
    }
  })

  it('a token of exactly 8192 characters is read; one of 8193 is malformed before any crypto', async () => {
    const ts = await timestampAtT0()
    const sized = (length: number): string => {
      // 43 characters of signature and two colons; the timestamp padded with zeros (up to 10 digits) where the
      // payload's length alone cannot be a base64url length (never 1 more than a multiple of 4).
      for (let digits = ts.length; digits <= 10; digits++) {
        const payloadLength = length - 43 - 2 - digits
        if (payloadLength % 4 === 1) continue
        const json = `"${'x'.repeat(Math.floor((payloadLength * 3) / 4) - 2)}"`
        const token = sign(`${b64(json)}:${ts.padStart(digits, '0')}`)
        expect(token.length).toBe(length)
        return token
      }
      throw new Error(`no token of ${length} characters`)
    }
    const longest = sized(8192)
    expect(await signing.loads(longest)).toMatchObject({ ok: true })
    const verify = vi.spyOn(crypto.subtle, 'verify')
    expect(await signing.loads(sized(8193))).toEqual({ ok: false, reason: 'malformed' })
    expect(verify).not.toHaveBeenCalled()
    verify.mockRestore()
  })

  it('a compressed token over maxInflatedSize is too-large for loads() and null for peek()', async () => {
    const small = djangoSigning({ secret: SECRET, salt: DJANGO_SESSION_SALT, maxInflatedSize: 1000 })
    const token = await signing.dumps({ pad: 'a'.repeat(5000) })
    expect(token.startsWith('.')).toBe(true)
    expect(await small.loads(token)).toEqual({ ok: false, reason: 'too-large' })
    expect(small.peek(token)).toBeNull()
    expect(signing.peek(token)?.value).toEqual({ pad: 'a'.repeat(5000) })
  })
})

describe('max age', () => {
  it('a token exactly maxAge seconds old loads; a millisecond later it is expired, with its signing time', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(T0)
    const token = await signing.dumps({ user: 'ada' })
    vi.setSystemTime(T0 + 600_000)
    expect(await signing.loads(token, { maxAge: 600 })).toMatchObject({ ok: true, value: { user: 'ada' } })
    vi.setSystemTime(T0 + 600_001)
    expect(await signing.loads(token, { maxAge: 600 })).toEqual({ ok: false, reason: 'expired', signedAt: new Date(T0) })
    // Without maxAge, age is not checked at all (signing.loads(token) in Django).
    expect(await signing.loads(token)).toMatchObject({ ok: true })
  })
})

describe('compression', () => {
  /** The first `{ k: noise(n) }` whose JSON zlib shortens by exactly `saved` bytes. */
  function dataSaving(saved: number): { k: string } {
    for (let n = 1; n < 1000; n++) {
      const body = new TextEncoder().encode(JSON.stringify({ k: noise(n) }))
      if (body.length - zlibDeflate(body).length === saved) return { k: noise(n) }
    }
    throw new Error(`no data found that zlib shortens by exactly ${saved} bytes`)
  }

  it("compresses only when zlib saves more than the '.' flag costs (Django's rule): 1 byte saved stays plain, 2 compress", async () => {
    expect((await signing.dumps(dataSaving(1))).startsWith('.')).toBe(false)
    expect((await signing.dumps(dataSaving(2))).startsWith('.')).toBe(true)
  })

  it('compress: false leaves even very compressible data plain, and it still loads', async () => {
    const data = { pad: 'a'.repeat(2000) }
    expect((await signing.dumps(data)).startsWith('.')).toBe(true)
    const plain = await signing.dumps(data, { compress: false })
    expect(plain.startsWith('.')).toBe(false)
    expect(await signing.loads(plain)).toMatchObject({ ok: true, value: data })
  })
})

describe('djangoSigning options', () => {
  it('refuses a missing or empty secret, naming the option and SECRET_KEY', () => {
    for (const secret of ['', undefined, 42]) {
      const error = (() => {
        try {
          djangoSigning({ secret: secret as string })
        } catch (err) {
          return err
        }
        return null
      })()
      expect(error).toBeInstanceOf(SessionConfigError)
      expect(error).toMatchObject({ option: 'secret', code: 'ERR_SESSION_CONFIG' })
      expect((error as Error).message).toContain('SECRET_KEY')
    }
  })

  it('maxInflatedSize: 1 byte is the least accepted; 0 and fractions are refused, naming the option and the rule', async () => {
    const one = djangoSigning({ secret: SECRET, salt: DJANGO_SESSION_SALT, maxInflatedSize: 1 })
    expect(await one.loads(await signing.dumps({ pad: 'a'.repeat(500) }))).toEqual({ ok: false, reason: 'too-large' })
    expect(await one.loads(await signing.dumps({ a: 1 }))).toMatchObject({ ok: true, value: { a: 1 } })
    for (const maxInflatedSize of [0, -1, 1.5]) {
      expect(() => djangoSigning({ secret: SECRET, maxInflatedSize })).toThrow(SessionConfigError)
      expect(() => djangoSigning({ secret: SECRET, maxInflatedSize })).toThrow('"maxInflatedSize" must be a positive whole number of bytes.')
    }
  })
})

describe('djangoCookieEngine', () => {
  it('a signed value that is not an object (a list, a string, a number, null) loads as an empty session, never a throw', async () => {
    const s = store()
    for (const value of [['a', 'b'], 'ab', 5, null, true]) {
      const session = s.open(await signing.dumps(value))
      expect(Object.fromEntries(await session.aitems())).toEqual({})
      expect(session.sessionKey).toBeNull()
    }
    expect(Object.fromEntries(await s.open(await signing.dumps({ a: 1 })).aitems())).toEqual({ a: 1 })
  })

  it('maxInflatedSize applies to cookies: one over it loads as an empty session; the default reads it', async () => {
    const cookie = await signing.dumps({ pad: 'a'.repeat(5000) })
    expect(cookie.startsWith('.')).toBe(true)
    expect(await store(djangoCookieEngine({ maxInflatedSize: 1000 })).open(cookie).aget('pad')).toBeUndefined()
    expect(await store(djangoCookieEngine({ maxInflatedSize: 5010 })).open(cookie).aget('pad')).toBe('a'.repeat(5000))
    expect(await store().open(cookie).aget('pad')).toBe('a'.repeat(5000))
  })

  it('a per-session expiry date (asetExpiry(Date)) ends the session at that instant, not before', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(T0)
    const s = store()
    const session = s.open()
    await session.aset('user', 'ada')
    await session.asetExpiry(new Date(T0 + 3_600_000))
    await session.asave()
    const cookie = session.sessionKey!
    vi.setSystemTime(T0 + 3_599_999)
    expect(await s.open(cookie).aget('user')).toBe('ada')
    vi.setSystemTime(T0 + 3_600_000)
    expect(await s.open(cookie).aget('user')).toBeUndefined()
  })
})

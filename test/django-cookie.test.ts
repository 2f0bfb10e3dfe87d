/**
 * Django's signed_cookies format, both ways, against real Django (Debian's python3-django on /usr/bin/python3):
 * Django makes cookies our engine must read, and checks the cookies our engine writes.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createSessionStore } from '../src/store.js'
import { DJANGO_SESSION_SALT, djangoCookieEngine, djangoSigning } from '../src/engines/django-cookie.js'
import type { DjangoCookieEngineOptions } from '../src/engines/django-cookie.js'
import { SessionTooLarge } from '../src/errors.js'
import { django, djangoVersion } from './support/django.js'

const SECRET = 'django-insecure-test-key-for-edge-session-0123456789abcdef'
const OLD_SECRET = 'the secret this app used before its rotation, 0123456789'
const AGE = 1209600
/** Short enough that zlib does not pay: the plain form. */
const unicode = { name: 'Zoë ☃ 😀 日本', q: '"\\' }
/** Escaped to ASCII it repeats itself: compressed. */
const unicodeRich = { name: 'Zoë ☃ 😀 日本', quote: '"\\\n\t', nested: { list: [1, -2.5, null, true, 'ü'] } }
/** Over 128 bytes and repetitive: zlib pays, so both sides write the '.' compressed form. */
const large = { note: 'compress me '.repeat(40), who: 'Zoë' }

function store(options: { secret?: string; fallbacks?: string[]; cookieAge?: number } & DjangoCookieEngineOptions = {}) {
  const { secret = SECRET, fallbacks = [], cookieAge = AGE, ...engine } = options
  return createSessionStore({ secret, secretFallbacks: fallbacks, cookieAge, engine: djangoCookieEngine(engine) })
}

async function read(cookie: string, options: Parameters<typeof store>[0] = {}): Promise<Record<string, unknown>> {
  return Object.fromEntries(await store(options).open(cookie).aitems())
}

async function write(data: Record<string, unknown>, options: Parameters<typeof store>[0] = {}): Promise<string> {
  const session = store(options).open()
  await session.aupdate(data)
  await session.asave()
  return session.sessionKey!
}

const now = (): number => Math.floor(Date.now() / 1000)

afterEach(() => {
  vi.useRealTimers()
})

const version = djangoVersion()

describe.skipIf(!version)(`cookies Django ${version} made, read by djangoCookieEngine`, () => {
  it('reads a plain (uncompressed) session with unicode, as SessionStore.save() wrote it', async () => {
    const { cookie } = django<{ cookie: string }>({ op: 'save', secret: SECRET, data: unicode })
    expect(cookie.startsWith('.')).toBe(false)
    expect(await read(cookie)).toEqual(unicode)
  })

  it('reads a compressed session (the "." form), unicode included', async () => {
    for (const data of [large, unicodeRich]) {
      const { cookie } = django<{ cookie: string }>({ op: 'save', secret: SECRET, data })
      expect(cookie.startsWith('.')).toBe(true)
      expect(await read(cookie)).toEqual(data)
    }
  })

  it('reads a large value signed without compression', async () => {
    const { cookie } = django<{ cookie: string }>({ op: 'save', secret: SECRET, data: large, compress: false })
    expect(cookie.startsWith('.')).toBe(false)
    expect(await read(cookie)).toEqual(large)
  })

  it('reads a cookie signed with a secret that is now in secretFallbacks (SECRET_KEY_FALLBACKS), and only then', async () => {
    const { cookie } = django<{ cookie: string }>({ op: 'save', secret: OLD_SECRET, data: unicode })
    expect(await read(cookie, { fallbacks: [OLD_SECRET] })).toEqual(unicode)
    expect(await read(cookie)).toEqual({})
  })

  it('refuses a tampered cookie: payload, timestamp or signature changed', async () => {
    const { cookie } = django<{ cookie: string }>({ op: 'save', secret: SECRET, data: { user: 'ada' } })
    const [payload, timestamp, signature] = cookie.split(':') as [string, string, string]
    const other = django<{ cookie: string }>({ op: 'save', secret: SECRET, data: { user: 'eve' } }).cookie.split(':')[0]
    const flip = (s: string): string => s.slice(0, -1) + (s.endsWith('A') ? 'B' : 'A')
    for (const bad of [
      `${other}:${timestamp}:${signature}`,
      `${payload}:${flip(timestamp)}:${signature}`,
      `${payload}:${timestamp}:${flip(signature)}`,
      `${payload}:${timestamp}`,
    ]) {
      expect(await read(bad)).toEqual({})
    }
    expect(await read(cookie)).toEqual({ user: 'ada' })
  })

  it('holds Django max-age rule: SESSION_COOKIE_AGE against the timestamp at load', async () => {
    const fresh = django<{ cookie: string }>({ op: 'save', secret: SECRET, data: { user: 'ada' }, now: now() - 3600 + 5 }).cookie
    const stale = django<{ cookie: string }>({ op: 'save', secret: SECRET, data: { user: 'ada' }, now: now() - 3600 - 5 }).cookie
    expect(await read(fresh, { cookieAge: 3600 })).toEqual({ user: 'ada' })
    expect(await read(stale, { cookieAge: 3600 })).toEqual({})
    // The same cookie under the default two weeks still loads: the age is the reader's setting, as in Django.
    expect(await read(stale)).toEqual({ user: 'ada' })
  })

  it('refuses a cookie signed under another salt, unless told that salt', async () => {
    const { cookie } = django<{ cookie: string }>({ op: 'save', secret: SECRET, data: { user: 'ada' }, salt: 'myapp.remember' })
    expect(await read(cookie)).toEqual({})
    expect(await read(cookie, { salt: 'myapp.remember' })).toEqual({ user: 'ada' })
  })

  it("differs from Django 3.2: refuses legacy SHA-1 signatures (DEFAULT_HASHING_ALGORITHM='sha1'), as Django 4.0+ does", async () => {
    const { cookie } = django<{ cookie: string }>({ op: 'save', secret: SECRET, data: { user: 'ada' }, algorithm: 'sha1' })
    expect(await read(cookie)).toEqual({})
  })
})

describe.skipIf(!version)(`cookies djangoCookieEngine wrote, checked by Django ${version}`, () => {
  it('Django reads our plain session with unicode, byte-compatible JSON (ASCII escapes, as Python writes)', async () => {
    const cookie = await write(unicode)
    expect(cookie.startsWith('.')).toBe(false)
    expect(django({ op: 'session', secret: SECRET, cookie })).toEqual({ data: unicode })
    // Same payload as Django makes for the same data: only the timestamp and signature can differ.
    const theirs = django<{ cookie: string }>({ op: 'save', secret: SECRET, data: unicode }).cookie
    expect(cookie.split(':')[0]).toBe(theirs.split(':')[0])
  })

  it('Django reads our compressed session, unicode included', async () => {
    for (const data of [large, unicodeRich]) {
      const cookie = await write(data)
      expect(cookie.startsWith('.')).toBe(true)
      expect(django({ op: 'session', secret: SECRET, cookie })).toEqual({ data })
    }
  })

  it('a cookie loaded with a fallback secret is re-signed with the current one at its next save', async () => {
    const old = await write({ user: 'ada' }, { secret: OLD_SECRET })
    const session = store({ fallbacks: [OLD_SECRET] }).open(old)
    await session.aset('color', 'blue')
    await session.asave()
    const cookie = session.sessionKey!
    expect(django({ op: 'load', secret: SECRET, cookie })).toEqual({ ok: true, value: { user: 'ada', color: 'blue' } })
    expect(django({ op: 'load', secret: OLD_SECRET, cookie })).toEqual({ ok: false, error: 'BadSignature' })
  })

  it('Django refuses our cookie tampered with, and one signed with another secret', async () => {
    const cookie = await write({ user: 'ada' })
    const [, timestamp, signature] = cookie.split(':')
    const forged = `${(await write({ user: 'eve' })).split(':')[0]}:${timestamp}:${signature}`
    expect(django({ op: 'load', secret: SECRET, cookie: forged })).toEqual({ ok: false, error: 'BadSignature' })
    expect(django({ op: 'load', secret: OLD_SECRET, cookie })).toEqual({ ok: false, error: 'BadSignature' })
    expect(django({ op: 'session', secret: SECRET, cookie: forged })).toEqual({ data: {} })
  })

  it('Django and we both expire our cookie SESSION_COOKIE_AGE after we signed it', async () => {
    const cookie = await write({ user: 'ada' }, { cookieAge: 600 })
    const signedAt = now()
    expect(django({ op: 'load', secret: SECRET, cookie, max_age: 600, now: signedAt + 590 })).toMatchObject({ ok: true })
    expect(django({ op: 'load', secret: SECRET, cookie, max_age: 600, now: signedAt + 610 })).toEqual({ ok: false, error: 'SignatureExpired' })
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime((signedAt + 590) * 1000)
    expect(await read(cookie, { cookieAge: 600 })).toEqual({ user: 'ada' })
    vi.setSystemTime((signedAt + 610) * 1000)
    expect(await read(cookie, { cookieAge: 600 })).toEqual({})
  })

  it('a cookie we signed under another salt is not a Django session', async () => {
    const cookie = await write({ user: 'ada' }, { salt: 'myapp.remember' })
    expect(django({ op: 'session', secret: SECRET, cookie })).toEqual({ data: {} })
    expect(django({ op: 'load', secret: SECRET, cookie, salt: 'myapp.remember' })).toEqual({ ok: true, value: { user: 'ada' } })
  })

  it('differs from Django: a per-session expiry (asetExpiry) is enforced at load; Django only keeps it in the data', async () => {
    const session = store().open()
    await session.aset('user', 'ada')
    await session.asetExpiry(60)
    await session.asave()
    const cookie = session.sessionKey!
    const signedAt = now()
    expect(django({ op: 'session', secret: SECRET, cookie, now: signedAt + 120 })).toEqual({ data: { user: 'ada', _session_expiry: 60 } })
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime((signedAt + 59) * 1000)
    expect(await read(cookie)).toEqual({ user: 'ada', _session_expiry: 60 })
    vi.setSystemTime((signedAt + 60) * 1000)
    expect(await read(cookie)).toEqual({})
  })
})

describe('djangoSigning, the codec alone', () => {
  const signing = djangoSigning({ secret: SECRET, salt: DJANGO_SESSION_SALT })

  it('says why a token was refused, and never hands out unverified data', async () => {
    const token = await signing.dumps({ user: 'ada' })
    expect(await signing.loads(token)).toMatchObject({ ok: true, value: { user: 'ada' } })
    expect(await signing.loads('no colons at all')).toEqual({ ok: false, reason: 'malformed' })
    expect(await signing.loads(token.replace(/:[^:]+$/, ':AAAA'))).toEqual({ ok: false, reason: 'bad-signature' })
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 11_000)
    const expired = await signing.loads(token, { maxAge: 10 })
    expect(expired).toMatchObject({ ok: false, reason: 'expired' })
    expect(expired).not.toHaveProperty('value')
  })

  it('peek() reads a token without verifying it (for inspection only)', async () => {
    const token = await signing.dumps(large)
    const forged = token.replace(/:[^:]+$/, ':AAAA')
    expect(signing.peek(forged)?.value).toEqual(large)
    expect(signing.peek('garbage')).toBeNull()
  })

  it('a signed zip bomb over maxInflatedSize is refused as too-large, not inflated', async () => {
    const small = djangoSigning({ secret: SECRET, maxInflatedSize: 1000 })
    const token = await djangoSigning({ secret: SECRET }).dumps({ pad: 'a'.repeat(5000) })
    expect(token.startsWith('.')).toBe(true)
    expect(await small.loads(token)).toEqual({ ok: false, reason: 'too-large' })
  })

  it('hostile tokens load as an empty session and never throw', async () => {
    const s = store()
    for (const bad of ['', ':', '::', '.:0:', 'a:b:c:d', `${'x'.repeat(9000)}:1:a`, 'eyJ9:zzzzzzzzzzzzzzzz:AAAA', '.!!!:1xXjKc:AAAA', '\u0000:\u0000:\u0000']) {
      expect(Object.fromEntries(await s.open(bad).aitems())).toEqual({})
    }
  })

  it('refuses at save, with SessionTooLarge, a session over 4096 bytes of cookie', async () => {
    const session = store().open()
    // Random text does not compress.
    const random = crypto.getRandomValues(new Uint8Array(3500))
    await session.aset('blob', Array.from(random, (b) => b.toString(16).padStart(2, '0')).join(''))
    await expect(session.asave()).rejects.toBeInstanceOf(SessionTooLarge)
  })
})

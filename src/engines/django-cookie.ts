/**
 * Django's signed cookies, both ways: `djangoSigning()` is `django.core.signing` (`dumps` / `loads` with a
 * `TimestampSigner`), and `djangoCookieEngine()` is `django.contrib.sessions.backends.signed_cookies` on top
 * of it, so a Django backend and a Next.js front end read and write one session cookie.
 *
 * The format: `[.]base64url(json | zlib(json)) ":" base62(unix seconds) ":" base64url(HMAC-SHA256)`, the HMAC
 * keyed as Django's `salted_hmac(salt + "signer", value, SECRET_KEY, algorithm="sha256")` does:
 * `key = SHA-256(salt + "signer" + SECRET_KEY)`. Web Crypto only, so it runs at the edge.
 *
 * Exported from `edge-session/django`.
 *
 * @module
 */
// The base64url module alone: jose's index also reaches its JWE code, whose CompressionStream webpack flags in edge bundles.
import * as base64url from 'jose/base64url'
import type { EngineFactory, SessionEngine } from '../core/engine.js'
import { checkExpiryAge } from '../core/expiry.js'
import type { Serializer } from '../core/serializer.js'
import { jsonSerializer } from '../core/serializer.js'
import { SessionConfigError } from '../errors.js'
import { zlibDeflate, zlibInflate } from '../lib/compress.js'
import { utf8 } from '../lib/crypto.js'
import { decodeCanonical } from '../lib/hs256.js'
import { cookieSizeCheck } from './cookie.js'

/** The salt Django's `signed_cookies` backend signs sessions with. */
export const DJANGO_SESSION_SALT = 'django.contrib.sessions.backends.signed_cookies'
/** `django.core.signing`'s default salt, for values signed with plain `signing.dumps(obj)`. */
export const DJANGO_SIGNING_SALT = 'django.core.signing'

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const BASE64URL = /^[A-Za-z0-9_-]*$/
/** Eleven base62 digits pass 2^53: no honest timestamp is that long. */
const MAX_TIMESTAMP_DIGITS = 10
const MAX_TOKEN_LENGTH = 8192
const TOO_LARGE = Symbol('too large')

function base62(n: number): string {
  let out = ''
  do {
    out = BASE62[n % 62]! + out
    n = Math.floor(n / 62)
  } while (n > 0)
  return out
}

function unbase62(text: string): number | null {
  if (text.length === 0 || text.length > MAX_TIMESTAMP_DIGITS) return null
  let n = 0
  for (const char of text) {
    const digit = BASE62.indexOf(char)
    if (digit === -1) return null
    n = n * 62 + digit
  }
  return n
}

/**
 * Python's `json.dumps` escapes every non-ASCII character (`ensure_ascii=True`), and Django's
 * `JSONSerializer` then encodes to and decodes from latin-1: UTF-8 bytes would reach Django as mojibake.
 * JSON.stringify has already escaped lone surrogates, so each UTF-16 unit left maps to one `\uXXXX`.
 */
function asciiJson(text: string): string {
  return text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

function latin1(bytes: Uint8Array): string {
  let out = ''
  for (const byte of bytes) out += String.fromCharCode(byte)
  return out
}

/** What `loads` found. A refused token says why, and never carries its unverified data. */
export type DjangoLoadResult =
  | { ok: true; value: unknown; signedAt: Date }
  | { ok: false; reason: 'malformed' | 'bad-signature' | 'too-large' }
  | { ok: false; reason: 'expired'; signedAt: Date }

export interface DjangoSigningOptions {
  /** Django's `SECRET_KEY`: signs, and verifies. */
  secret: string
  /** Django's `SECRET_KEY_FALLBACKS` (4.1+): verify only. */
  fallbacks?: readonly string[]
  /** Django's `salt`; default `'django.core.signing'`, as `signing.dumps` has. */
  salt?: string
  /** How `dumps` turns the value into text and `loads` back; default `jsonSerializer` (Django's `JSONSerializer`). */
  serializer?: Serializer
  /** The most a compressed value may inflate to, in bytes (Django sets no cap). Default 64 KiB. */
  maxInflatedSize?: number
}

export interface DjangoSigning {
  /** `signing.dumps(value, salt=..., compress=...)`; `compress` defaults to `true`, as the session backend passes. */
  dumps(value: unknown, options?: { compress?: boolean }): Promise<string>
  /**
   * `signing.loads(token, salt=..., max_age=...)`: the signature is checked with the secret, then each fallback.
   * With `maxAge` (seconds), a token signed longer ago than that is `expired` (Django: `age > max_age`).
   */
  loads(token: string, options?: { maxAge?: number }): Promise<DjangoLoadResult>
  /**
   * The value inside `token` WITHOUT checking its signature or age: for inspecting a cookie you hold,
   * never for trusting one. `null` when it does not even parse.
   */
  peek(token: string): { value: unknown; signedAt: Date } | null
}

/** `salted_hmac`'s key: SHA-256 of the key salt and the secret, used as the HMAC-SHA256 key. */
async function signerKey(salt: string, secret: string): Promise<CryptoKey> {
  const digest = await crypto.subtle.digest('SHA-256', utf8(`${salt}signer${secret}`))
  return crypto.subtle.importKey('raw', digest, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
}

interface Parts {
  signed: string
  signature: string
  payload: string
  compressed: boolean
  timestamp: number
}

/** Splits `payload:timestamp:signature` as Django's two `rsplit(':', 1)` do. */
function split(token: string): Parts | null {
  if (token.length > MAX_TOKEN_LENGTH) return null
  const lastColon = token.lastIndexOf(':')
  if (lastColon === -1) return null
  const signed = token.slice(0, lastColon)
  const signature = token.slice(lastColon + 1)
  const timeColon = signed.lastIndexOf(':')
  if (timeColon === -1) return null
  const timestamp = unbase62(signed.slice(timeColon + 1))
  let payload = signed.slice(0, timeColon)
  const compressed = payload.startsWith('.')
  if (compressed) payload = payload.slice(1)
  if (timestamp === null || !BASE64URL.test(payload) || !BASE64URL.test(signature)) return null
  return { signed, signature, payload, compressed, timestamp }
}

/**
 * `django.core.signing` for one salt. Keys are derived once per secret and reused: every `crypto.subtle`
 * call is a hop to another thread.
 *
 * @example
 * ```ts
 * const signing = djangoSigning({ secret: process.env.DJANGO_SECRET_KEY!, salt: DJANGO_SESSION_SALT })
 * const result = await signing.loads(cookie, { maxAge: 1209600 })
 * if (result.ok) console.log(result.value)
 * ```
 */
export function djangoSigning(options: DjangoSigningOptions): DjangoSigning {
  const salt = options.salt ?? DJANGO_SIGNING_SALT
  const serializer = options.serializer ?? jsonSerializer
  const maxInflated = options.maxInflatedSize ?? 64 * 1024
  if (typeof options.secret !== 'string' || options.secret === '') {
    throw new SessionConfigError('secret', "is missing: pass Django's SECRET_KEY.")
  }
  if (!Number.isInteger(maxInflated) || maxInflated < 1) {
    throw new SessionConfigError('maxInflatedSize', 'must be a positive whole number of bytes.')
  }
  let keys: Promise<CryptoKey[]> | undefined
  // Imported on first use: a module-level configuration must not start crypto work nobody asked for.
  const signingKeys = (): Promise<CryptoKey[]> =>
    (keys ??= Promise.all([options.secret, ...(options.fallbacks ?? [])].map((secret) => signerKey(salt, secret))))

  /** The value, or `TOO_LARGE`; throws for anything unreadable. */
  function decode(parts: Parts): { value: unknown } | typeof TOO_LARGE {
    let bytes: Uint8Array = base64url.decode(parts.payload)
    if (parts.compressed) {
      const inflated = zlibInflate(bytes, maxInflated)
      if (!inflated) return TOO_LARGE
      bytes = inflated
    }
    return { value: serializer.loads(latin1(bytes)) }
  }

  return {
    async dumps(value, { compress = true } = {}) {
      let data: Uint8Array = utf8(asciiJson(serializer.dumps(value)))
      let flag = ''
      if (compress) {
        const compressed = zlibDeflate(data)
        // Django's rule: only when that saves more than the '.' flag costs.
        if (compressed.length < data.length - 1) {
          data = compressed
          flag = '.'
        }
      }
      const signed = `${flag}${base64url.encode(data)}:${base62(Math.floor(Date.now() / 1000))}`
      const [key] = await signingKeys()
      const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key!, utf8(signed)))
      return `${signed}:${base64url.encode(mac)}`
    },

    async loads(token, { maxAge } = {}) {
      const parts = typeof token === 'string' ? split(token) : null
      if (!parts) return { ok: false, reason: 'malformed' }
      // Django compares the signature as text: a variant that differs only in the last character's unused
      // bits decodes to the same bytes, and must still be refused.
      const decoded = decodeCanonical(parts.signature)
      if (!decoded) return { ok: false, reason: 'bad-signature' }
      const mac = new Uint8Array(decoded)
      const message = utf8(parts.signed)
      let verified = false
      for (const key of await signingKeys()) {
        // crypto.subtle.verify compares in constant time, as Django's constant_time_compare does.
        if (await crypto.subtle.verify('HMAC', key, mac, message)) {
          verified = true
          break
        }
      }
      if (!verified) return { ok: false, reason: 'bad-signature' }
      const signedAt = new Date(parts.timestamp * 1000)
      if (maxAge !== undefined && Date.now() / 1000 - parts.timestamp > maxAge) return { ok: false, reason: 'expired', signedAt }
      try {
        const decoded = decode(parts)
        return decoded === TOO_LARGE ? { ok: false, reason: 'too-large' } : { ok: true, value: decoded.value, signedAt }
      } catch {
        // Signed by a holder of the key, yet not zlib or not JSON.
        return { ok: false, reason: 'malformed' }
      }
    },

    peek(token) {
      const parts = typeof token === 'string' ? split(token) : null
      if (!parts) return null
      try {
        const decoded = decode(parts)
        return decoded === TOO_LARGE ? null : { value: decoded.value, signedAt: new Date(parts.timestamp * 1000) }
      } catch {
        return null
      }
    },
  }
}

export interface DjangoCookieEngineOptions {
  /** Default `'django.contrib.sessions.backends.signed_cookies'`, what Django's backend uses. */
  salt?: string
  /** The most a compressed cookie may inflate to, in bytes. Default 64 KiB. */
  maxInflatedSize?: number
}

/**
 * Django's `signed_cookies` session engine. Configure it with Django's settings: `secret` = `SECRET_KEY`,
 * `secretFallbacks` = `SECRET_KEY_FALLBACKS`, `cookieAge` = `SESSION_COOKIE_AGE`, `cookieName` =
 * `SESSION_COOKIE_NAME`; keep the default `jsonSerializer`. A cookie loads while it was signed at most
 * `cookieAge` seconds ago (Django's rule) and, beyond Django, not after a per-session expiry
 * (`asetExpiry`) counted from that signature: Django ignores it (ticket #19201).
 *
 * Like Django's, it cannot revoke: a copy of an old cookie stays valid until `cookieAge` has passed.
 *
 * @example
 * ```ts
 * import { djangoCookieEngine } from 'edge-session/django'
 * const store = createSessionStore({ engine: djangoCookieEngine(), secret: process.env.DJANGO_SECRET_KEY })
 * ```
 */
export function djangoCookieEngine(options: DjangoCookieEngineOptions = {}): EngineFactory {
  return (settings): SessionEngine => {
    const signing = djangoSigning({
      secret: settings.secret,
      fallbacks: settings.secretFallbacks,
      salt: options.salt ?? DJANGO_SESSION_SALT,
      serializer: settings.serializer,
      ...(options.maxInflatedSize === undefined ? {} : { maxInflatedSize: options.maxInflatedSize }),
    })
    const fits = cookieSizeCheck(settings)

    return {
      // Each save signs a new value the browser must get (Django's save() sets modified).
      keyHoldsData: true,
      writesWholeRecord: true,
      async load(token) {
        const result = await signing.loads(token, { maxAge: settings.cookieAge })
        if (!result.ok) return null
        const data = result.value
        if (typeof data !== 'object' || data === null || Array.isArray(data)) return null
        const record = data as Record<string, unknown>
        return expiredByOwnExpiry(record._session_expiry, result.signedAt) ? null : record
      },
      async save(_key, write) {
        checkExpiryAge(write.expiryAge)
        return fits(await signing.dumps(Object.fromEntries(write.data), { compress: true }), write.expiryAge)
      },
      // The data is in the browser: there is nothing here to delete, look up or sweep (Django: the same).
      async delete() {},
      async exists() {
        return false
      },
      async clearExpired() {},
    }
  }
}

/**
 * `_session_expiry` as the core stores it: seconds after the last save (the signature's timestamp), an
 * ISO date, or 0 for "at browser close" (then only `cookieAge` applies). Expired at that second itself,
 * as the other engines are. Anything else is left to `cookieAge`: Django apps may store other shapes.
 */
function expiredByOwnExpiry(expiry: unknown, signedAt: Date): boolean {
  const now = Date.now()
  if (typeof expiry === 'number' && expiry !== 0) return now >= signedAt.getTime() + expiry * 1000
  if (typeof expiry === 'string') {
    const at = Date.parse(expiry)
    return Number.isNaN(at) || now >= at
  }
  return false
}

/**
 * The signed-cookie engine: the whole session lives in the cookie, as a JWS (HS256) or,
 * with `encrypt: true`, a JWE (dir + A256GCM) that the client cannot read. No store, no service.
 *
 * Exported from `edge-session` and `edge-session/cookie`.
 *
 * @module
 */
import * as base64url from '../lib/base64url.js'
import type { EngineFactory, SessionEngine, SessionWrite } from '../core/engine.js'
import { checkExpiryAge } from '../core/expiry.js'
import type { SessionSettings } from '../core/settings.js'
import { SessionConfigError, SessionTooLarge } from '../errors.js'
import { deflate, inflate } from '../lib/compress.js'
import { cookieAttributes, serializeCookie } from '../lib/cookie.js'
import { deriveKey, utf8 } from '../lib/crypto.js'
import { decodeCanonical, hs256 } from '../lib/hs256.js'
import { revocable, type RevocationStore } from '../revocation/index.js'

export interface CookieEngineOptions {
  /** Encrypt the data (JWE dir + A256GCM) instead of only signing it. Default `false`. */
  encrypt?: boolean
  /** The most a compressed payload may inflate to, in bytes. Default 64 KiB. */
  maxInflatedSize?: number
  /**
   * Makes logout real: a cookie bound to a user (`alogin`) loads only while the store lists it as live, so
   * `aflush()`, `acycleKey()` and "sign out other devices" end every copy of the old cookie. See src/revocation/.
   */
  revocation?: RevocationStore
}

/** Browsers keep at most 4096 bytes of a cookie (RFC 6265bis §5.6); we count the whole Set-Cookie value to be safe. */
export const COOKIE_SIZE_LIMIT = 4096

/**
 * The size check a session carried in a cookie makes at save: returns `value`, or throws `SessionTooLarge` when the
 * whole Set-Cookie would pass `COOKIE_SIZE_LIMIT`. The header without its value and Max-Age digits has the same
 * length on every save (Expires always prints 29 characters): measured once here, the check builds no string per save.
 */
export function cookieSizeCheck(settings: SessionSettings): (value: string, expiryAge: number) => string {
  const overhead = serializeCookie({ ...cookieAttributes(settings), value: '', maxAge: 0, expires: new Date(0) }).length - 1
  return (value, expiryAge) => {
    const size = overhead + value.length + String(expiryAge).length
    if (size > COOKIE_SIZE_LIMIT) throw new SessionTooLarge(size, COOKIE_SIZE_LIMIT)
    return value
  }
}
/** Deflate rarely pays below this many bytes, and it costs time on every write. */
const COMPRESS_FROM = 128
/**
 * Payload: `<issued>-<expires>` (whole seconds since the epoch), then `:` and the serialized data, or `.` and the
 * deflated data (Django's flag, inside the signed part). The issue time lets the current `cookieAge` bound cookies
 * already issued, as Django's `max_age` check at load does: lowering it is an emergency lever besides the secret.
 */
const PLAIN = 0x3a
const DEFLATED = 0x2e
const TIMES_SEPARATOR = 0x2d
/** Digits of a time in seconds: up to the year 2286, far past any expiry the 400-day cap allows. */
const MAX_TIME_DIGITS = 10
const MAX_TOKEN_LENGTH = 8192
/**
 * Cookies whose signature (or encryption) checked out recently, with their payloads. A visitor sends the
 * same cookie on every request until it changes, and each crypto.subtle call is a job on another thread:
 * waking it costs 30-80 µs on a small VM, more than the rest of a gated request's session work.
 * Only verified cookies get in, the expiry is still checked on every load, and FIFO eviction bounds memory
 * (256 × a cookie under 4 KB, plus its data once decoded when that data holds no objects).
 */
const VERIFIED_CACHE_SIZE = 256

const decoder = new TextDecoder('utf-8', { fatal: true })

interface Codec {
  seal(payload: Uint8Array<ArrayBuffer>): Promise<string>
  open(token: string): Promise<Uint8Array | null>
}

/** JWS HS256, `{"alg":"HS256"}` only: jose's tokens byte for byte, signed without jose's per-call overhead (src/lib/hs256.ts). */
function signingCodec(keys: Promise<CryptoKey[]>): Codec {
  const jws = hs256(keys)
  return { seal: (payload) => jws.sign(payload), open: (token) => jws.verify(token) }
}

/**
 * The one JWE we write and accept: compact, `{"alg":"dir","enc":"A256GCM"}` (as jose serializes it), no
 * encrypted key. Sealed on Web Crypto directly rather than with jose's JWE: its general key management
 * (RSA, ECDH, AES-KW, PBES2) cannot be tree-shaken out of an engine that may encrypt, and cost every
 * edge bundle ~17 KiB minified whether `encrypt` was on or not. The tokens are the same (tested against jose).
 */
const JWE_HEADER = base64url.encode(utf8('{"alg":"dir","enc":"A256GCM"}'))
/** RFC 7516 §5.1 step 14: the additional authenticated data is the ASCII of the encoded protected header. */
const JWE_AAD = utf8(JWE_HEADER)
const GCM_IV_BYTES = 12
const GCM_TAG_BYTES = 16

function encryptingCodec(keys: Promise<CryptoKey[]>): Codec {
  return {
    async seal(payload) {
      const [key] = await keys
      const iv = crypto.getRandomValues(new Uint8Array(GCM_IV_BYTES))
      // Web Crypto returns the ciphertext with the tag appended; JWE carries them as separate parts.
      const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: JWE_AAD }, key!, payload))
      const cut = sealed.length - GCM_TAG_BYTES
      return `${JWE_HEADER}..${base64url.encode(iv)}.${base64url.encode(sealed.subarray(0, cut))}.${base64url.encode(sealed.subarray(cut))}`
    },
    async open(token) {
      const parts = token.split('.')
      // Any other header (zip, kid, crit, another alg or enc...) or an encrypted key is not ours.
      if (parts.length !== 5 || parts[0] !== JWE_HEADER || parts[1] !== '') return null
      // Only the spelling we write: no padding, whitespace or stray low bits (one token, one string).
      const iv = decodeCanonical(parts[2]!)
      const ciphertext = decodeCanonical(parts[3]!)
      const tag = decodeCanonical(parts[4]!)
      if (!iv || !ciphertext || !tag || iv.length !== GCM_IV_BYTES || tag.length !== GCM_TAG_BYTES) return null
      const sealed = new Uint8Array(ciphertext.length + GCM_TAG_BYTES)
      sealed.set(ciphertext)
      sealed.set(tag, ciphertext.length)
      for (const key of await keys) {
        try {
          return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: new Uint8Array(iv), additionalData: JWE_AAD }, key, sealed))
        } catch {
          // The tag did not check out: another (fallback) secret may be the one it was sealed with.
        }
      }
      return null
    },
  }
}

/** The whole seconds written at `payload[from]`, and where they end; `null` without a digit. */
function readTime(payload: Uint8Array, from: number): { value: number; end: number } | null {
  let i = from
  let value = 0
  while (i < payload.length && i - from < MAX_TIME_DIGITS && payload[i]! >= 0x30 && payload[i]! <= 0x39) value = value * 10 + payload[i++]! - 0x30
  return i === from ? null : { value, end: i }
}

/** A verified payload, its signed times read once. */
interface Opened {
  issued: number
  expires: number
  flag: number | undefined
  body: Uint8Array
  /**
   * The decoded data when every value is a primitive (most sessions: ids, names, flags, times), else `null`;
   * `undefined` until first decoded. A shallow copy of it is then a whole new record, so a repeated load skips
   * the decoding (TextDecoder, inflate, JSON.parse), most of a gated request's session work at the edge: such a load
   * took ~15 µs in `next start`'s sandbox and takes ~4 µs this way (--cpu-prof); in a bare EdgeVM, 3.0 → 1.4 µs.
   */
  flat?: Record<string, unknown> | null
}

function openPayload(payload: Uint8Array): Opened | null {
  const issued = readTime(payload, 0)
  if (!issued || payload[issued.end] !== TIMES_SEPARATOR) return null
  const expires = readTime(payload, issued.end + 1)
  if (!expires || expires.end >= payload.length) return null
  return { issued: issued.value, expires: expires.value, flag: payload[expires.end], body: payload.subarray(expires.end + 1) }
}

function decodePayload(opened: Opened, settings: SessionSettings, maxInflated: number): Record<string, unknown> | null {
  const now = Date.now() / 1000
  // The server enforces expiry itself, the per-session one included (Django does not: ticket #19201).
  // Expired at `expires` itself, as the memory engine is: an expiry age of 0 never loads.
  if (now >= opened.expires) return null
  // And no cookie outlives the current cookieAge, counted from its issue (Django's max_age at load).
  if (now >= opened.issued + settings.cookieAge) return null
  if (opened.flat) return { ...opened.flat }
  let body = opened.body
  if (opened.flag === DEFLATED) {
    const inflated = inflate(body, maxInflated)
    if (!inflated) return null
    body = inflated
  } else if (opened.flag !== PLAIN) {
    return null
  }
  const data = settings.serializer.loads(decoder.decode(body))
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return null
  opened.flat ??= Object.values(data).every((value) => value === null || (typeof value !== 'object' && typeof value !== 'function')) ? { ...data } : null
  return data as Record<string, unknown>
}

function encodePayload(write: SessionWrite, settings: SessionSettings, maxInflated: number): Uint8Array<ArrayBuffer> {
  const issued = Math.floor(Date.now() / 1000)
  const expires = issued + Math.floor(write.expiryAge)
  const body = utf8(settings.serializer.dumps(Object.fromEntries(write.data)))
  let flag = PLAIN
  let packed: Uint8Array = body
  // Data that would not inflate back under the load cap stays plain, so it fails as SessionTooLarge
  // here instead of saving a cookie that no later request can read.
  if (body.length >= COMPRESS_FROM && body.length <= maxInflated) {
    const deflated = deflate(body)
    // Django's rule: only when it saves more than the flag byte costs (behaviour 104).
    if (deflated.length < body.length - 1) {
      flag = DEFLATED
      packed = deflated
    }
  }
  const head = utf8(`${issued}-${Math.max(expires, 0)}`)
  const payload = new Uint8Array(head.length + 1 + packed.length)
  payload.set(head)
  payload[head.length] = flag
  payload.set(packed, head.length + 1)
  return payload
}

/**
 * The signed-cookie engine. Keys are derived from `secret` (and each of `secretFallbacks`) once, with HKDF,
 * for this purpose alone. A cookie signed with a fallback loads, and is re-signed with `secret` at its next save.
 *
 * Like Django's, this engine cannot revoke on its own: after `aflush()` or `acycleKey()`, a copy of the old
 * cookie stays valid until it expires. With a `revocation` store, a signed-in cookie is ended for real.
 *
 * @example
 * ```ts
 * const store = createSessionStore({ engine: cookieEngine({ encrypt: true }) })
 * ```
 */
export function cookieEngine(options: CookieEngineOptions = {}): EngineFactory {
  const maxInflated = options.maxInflatedSize ?? 64 * 1024
  if (!Number.isInteger(maxInflated) || maxInflated < 1) {
    throw new SessionConfigError('maxInflatedSize', 'must be a positive whole number of bytes.')
  }
  return (settings): SessionEngine => {
    const secrets = [settings.secret, ...settings.secretFallbacks]
    const codec = options.encrypt
      ? encryptingCodec(
          Promise.all(secrets.map((s) => deriveKey(s, 'edge-session/cookie A256GCM', { name: 'AES-GCM', length: 256 }, ['encrypt', 'decrypt']))),
        )
      : signingCodec(
          Promise.all(secrets.map((s) => deriveKey(s, 'edge-session/cookie HS256', { name: 'HMAC', hash: 'SHA-256', length: 256 }, ['sign', 'verify']))),
        )
    const fits = cookieSizeCheck(settings)

    const verified = new Map<string, Opened>()

    const engine: SessionEngine = {
      keyHoldsData: true,
      writesWholeRecord: true,
      async load(token) {
        if (token.length > MAX_TOKEN_LENGTH) return null
        try {
          let opened = verified.get(token)
          if (opened === undefined) {
            const payload = await codec.open(token)
            const read = payload && openPayload(payload)
            if (!read) return null
            if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value!)
            verified.set(token, read)
            opened = read
          }
          // The cached payload never leaves this module; each load gets fresh objects from it.
          return decodePayload(opened, settings, maxInflated)
        } catch {
          // Tampered, truncated, garbage: a fresh empty session, never an error page (behaviour 108).
          return null
        }
      },
      async save(_key, write) {
        checkExpiryAge(write.expiryAge)
        return fits(await codec.seal(encodePayload(write, settings, maxInflated)), write.expiryAge)
      },
      // The data is in the browser: there is nothing here to delete, look up or sweep.
      async delete() {},
      async exists() {
        return false
      },
      async clearExpired() {},
    }
    // Wrapped around the whole engine, the verified-cookie cache included: it remembers signatures, never liveness.
    // The wrapper uses the core's fresh key as the session id it tracks, so only the bare engine makes its own.
    return options.revocation ? revocable(engine, options.revocation) : { ...engine, makesOwnKey: true }
  }
}

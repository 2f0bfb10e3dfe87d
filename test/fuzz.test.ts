/**
 * Hostile input against the cookie engine's load path (`store.open(token)` then `aitems()`), and
 * the JSON serializer's refusal rules, property by property with fast-check.
 *
 * FUZZ_RUNS is the total number of generated cases, shared out between the properties by weight;
 * `npm test` runs a few thousand, `npm run fuzz` 100 000. The exhaustive truncation sweep and the
 * fixed cases come on top.
 */
import fc from 'fast-check'
import { deflateSync } from 'fflate'
import { CompactSign, FlattenedSign } from 'jose'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { cookieEngine, createSessionStore, jsonSerializer, memoryEngine, SessionSerializationError, SessionTooLarge } from '../src/index.js'
import type { JsonValue, SessionStore, SessionWrite } from '../src/index.js'

const TOTAL = Number(process.env.FUZZ_RUNS ?? 5000)
const weights = {
  bitFlip: 10,
  charSwap: 5,
  respell: 5,
  jwsHeader: 10,
  jweHeader: 6,
  signedPayload: 10,
  encryptedPayload: 5,
  random: 8,
  foreign: 4,
  roundTrip: 6,
  serializerRoundTrip: 8,
  serializerPoison: 8,
} as const
// A property runs up to a quarter of the cases: allow ~2 ms each on a busy 2-core machine.
vi.setConfig({ testTimeout: Math.max(20_000, TOTAL / 2) })
const weightSum = Object.values(weights).reduce((a, b) => a + b, 0)
const runs = (name: keyof typeof weights) => Math.max(1, Math.round((TOTAL * weights[name]) / weightSum))
/** Cases actually executed, by group, printed at the end. */
const counted: Record<string, number> = {}
const count = (name: string) => void (counted[name] = (counted[name] ?? 0) + 1)
/** Of those, how many were expected to load (and did): a property that only ever refuses proves less. */
const accepted: Record<string, number> = {}

const SECRET = 'fuzz secret: at least thirty-two bytes long'
const OTHER_SECRET = 'a different secret, also 32 bytes or longer'
const signed = createSessionStore({ secret: SECRET, engine: cookieEngine() })
const encrypted = createSessionStore({ secret: SECRET, engine: cookieEngine({ encrypt: true }) })
const otherSigned = createSessionStore({ secret: OTHER_SECRET, engine: cookieEngine() })
const otherEncrypted = createSessionStore({ secret: OTHER_SECRET, engine: cookieEngine({ encrypt: true }) })
const memory = createSessionStore({ secret: SECRET, engine: memoryEngine() })

const protoBefore = Reflect.ownKeys(Object.prototype)
const arrayProtoBefore = Reflect.ownKeys(Array.prototype)

function assertUnpolluted(): void {
  const probe = {} as Record<string, unknown>
  expect(probe.polluted).toBeUndefined()
  expect(probe.isAdmin).toBeUndefined()
  expect(Reflect.ownKeys(Object.prototype)).toEqual(protoBefore)
  expect(Reflect.ownKeys(Array.prototype)).toEqual(arrayProtoBefore)
}

// ---- encoding helpers ------------------------------------------------------

const enc = new TextEncoder()
const b64u = (bytes: Uint8Array): string => {
  let s = ''
  for (const b of bytes) s += String.fromCharCode(b)
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}
const unb64u = (text: string): Uint8Array => Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))
const b64uJson = (value: unknown): string => b64u(enc.encode(JSON.stringify(value)))
/** The payload's head as the engine writes it: `<issued>-<expires>`, issued now, expiring in `age` seconds. */
const times = (age: number): string => {
  const now = Math.floor(Date.now() / 1000)
  return `${now}-${now + age}`
}
/** The default cookieAge of the stores under test: a cookie issued longer ago never loads. */
const COOKIE_AGE = 1209600
const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

// ---- the engine's own keys, derived here as the engine derives them --------
// Lets these tests sign and encrypt whatever they like with the REAL key: forged headers and
// garbage payloads that pass the cryptography and must still be refused by what follows.
// A control below proves the derivation matches the engine's, so these attacks are not vacuous.

async function derive(purpose: string, algorithm: HmacImportParams | AesKeyAlgorithm): Promise<Uint8Array<ArrayBuffer>> {
  const base = await crypto.subtle.importKey('raw', enc.encode(SECRET), 'HKDF', false, ['deriveKey'])
  const key = await crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: enc.encode('edge-session'), info: enc.encode(purpose) },
    base,
    algorithm,
    true,
    algorithm.name === 'HMAC' ? ['sign'] : ['encrypt'],
  )
  return new Uint8Array(await crypto.subtle.exportKey('raw', key))
}

let hmacRaw: Uint8Array<ArrayBuffer>
let hmacKey: CryptoKey
let aesKey: CryptoKey

async function hmac(signingInput: string, hash = 'SHA-256', raw: Uint8Array<ArrayBuffer> = hmacRaw): Promise<string> {
  const key = hash === 'SHA-256' && raw === hmacRaw ? hmacKey : await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash }, false, ['sign'])
  return b64u(new Uint8Array(await crypto.subtle.sign('HMAC', key, enc.encode(signingInput))))
}

/** A JWS with exactly this header text and payload, signed with the engine's real HS256 key. */
async function signRaw(headerText: string, payload: Uint8Array): Promise<string> {
  const input = `${b64u(enc.encode(headerText))}.${b64u(payload)}`
  return `${input}.${await hmac(input)}`
}

/** A compact JWE (dir) with exactly this header, encrypted with the engine's real AES-256-GCM key. */
async function encryptRaw(header: Record<string, unknown>, plaintext: Uint8Array): Promise<string> {
  const protectedHeader = b64uJson(header)
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: enc.encode(protectedHeader), tagLength: 128 }, aesKey, new Uint8Array(plaintext)),
  )
  return `${protectedHeader}..${b64u(iv)}.${b64u(sealed.subarray(0, -16))}.${b64u(sealed.subarray(-16))}`
}

// ---- load-path assertions ---------------------------------------------------

async function loadItems(store: SessionStore, token: string) {
  const session = store.open(token)
  const items = await session.aitems()
  return { items, sessionKey: session.sessionKey }
}

async function expectRefused(store: SessionStore, token: string, group: string): Promise<void> {
  count(group)
  const { items, sessionKey } = await loadItems(store, token)
  expect(items).toEqual([])
  expect(sessionKey).toBeNull()
}

/**
 * The token written back from what it decodes to: every part re-encoded from its bytes, and for a JWS the
 * signature made afresh over the re-encoded header and payload (HS256 is deterministic).
 */
async function reserialized(store: SessionStore, token: string): Promise<string> {
  const parts = token.split('.').map((part) => b64u(unb64u(part)))
  if (store !== signed) return parts.join('.')
  const input = `${parts[0]}.${parts[1]}`
  return `${input}.${await hmac(input)}`
}

async function expectAccepted(store: SessionStore, token: string, data: Record<string, unknown>, group: string): Promise<void> {
  count(group)
  accepted[group] = (accepted[group] ?? 0) + 1
  const { items, sessionKey } = await loadItems(store, token)
  expect(items).toEqual(Object.entries(data))
  expect(sessionKey).toBe(token)
  // One token, one spelling (issue 8 item 9): whatever loads is exactly what the engine would write for it.
  expect(await reserialized(store, token)).toBe(token)
}

async function saveWith(store: SessionStore, data: Record<string, unknown>, expiry?: number): Promise<string> {
  const session = store.open()
  await session.aupdate(data)
  if (expiry !== undefined) await session.asetExpiry(expiry)
  await session.asave()
  return session.sessionKey!
}

/** Saves through the engine directly: top-level keys the Session API reserves (`__proto__`) included. */
async function saveRecord(store: SessionStore, data: Record<string, unknown>, expiryAge = 3600): Promise<string> {
  const map = new Map(Object.entries(data))
  const write: SessionWrite = { data: map, changed: new Set(map.keys()), deleted: new Set(), replace: true, expiryAge, expiryAgeOf: () => expiryAge }
  return store.engine.save('x'.repeat(32), write, { mustCreate: true })
}

/** JSON big enough to need compression, to give the deflate path real tokens. */
const bulky = {
  history: Array.from({ length: 80 }, (_, i) => ({ path: `/p/${i % 9}`, at: 1_700_000_000 + i })),
  note: 'ünïcödé ✓ '.repeat(20),
}

interface Real {
  store: SessionStore
  token: string
  data: Record<string, unknown>
}
let pool: Real[]

beforeAll(async () => {
  hmacRaw = await derive('edge-session/cookie HS256', { name: 'HMAC', hash: 'SHA-256', length: 256 })
  hmacKey = await crypto.subtle.importKey('raw', hmacRaw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  const aesRaw = await derive('edge-session/cookie A256GCM', { name: 'AES-GCM', length: 256 })
  aesKey = await crypto.subtle.importKey('raw', aesRaw, 'AES-GCM', false, ['encrypt'])
  pool = []
  for (const store of [signed, encrypted]) {
    for (const data of [{ a: 1 }, { user: { id: 7, roles: ['admin'] }, n: 'x'.repeat(50) }, bulky]) {
      pool.push({ store, token: await saveWith(store, data), data })
    }
  }
})

afterAll(() => {
  assertUnpolluted()
  const total = Object.values(counted).reduce((a, b) => a + b, 0)
  console.log(`fuzz: FUZZ_RUNS=${TOTAL}, ${total} cases run: ${JSON.stringify(counted)}; of which loaded as expected: ${JSON.stringify(accepted)}`)
})

// ---- controls ------------------------------------------------------------------

describe('controls', () => {
  it('real tokens load, and the keys derived here are the engine keys', async () => {
    for (const { store, token, data } of pool) await expectAccepted(store, token, data, 'control')
    const payload = enc.encode(`${times(60)}:{"ok":true}`)
    await expectAccepted(signed, await signRaw('{"alg":"HS256"}', payload), { ok: true }, 'control')
    await expectAccepted(encrypted, await encryptRaw({ alg: 'dir', enc: 'A256GCM' }, payload), { ok: true }, 'control')
    // ...and jose's own encoders, given the same raw key, agree.
    const viaJose = await new CompactSign(payload).setProtectedHeader({ alg: 'HS256' }).sign(hmacRaw)
    await expectAccepted(signed, viaJose, { ok: true }, 'control')
  })

  it('the bulky pool tokens really are compressed', () => {
    const [, body] = pool.find((r) => r.store === signed && r.data === bulky)!.token.split('.')
    const bytes = unb64u(body!)
    // After "<issued>-<expires>", the flag.
    expect(bytes[bytes.findIndex((b, i) => (b < 0x30 || b > 0x39) && bytes[i - 1]! >= 0x30 && i > bytes.indexOf(0x2d))]).toBe(0x2e)
  })
})

// ---- mutated real tokens --------------------------------------------------------

describe('mutated real tokens are refused', () => {
  it('one flipped bit in any part', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.nat(), fc.nat(), async (which, part, bit) => {
        const { store, token } = pool[which % pool.length]!
        const parts = token.split('.')
        const p = part % parts.length
        let bytes = unb64u(parts[p]!)
        // The JWE's encrypted-key part is empty for "dir": make it non-empty instead.
        if (bytes.length === 0) bytes = new Uint8Array([bit & 0xff])
        else bytes[Math.floor(bit / 8) % bytes.length]! ^= 1 << bit % 8
        parts[p] = b64u(bytes)
        await expectRefused(store, parts.join('.'), 'bitFlip')
      }),
      { numRuns: runs('bitFlip') },
    )
  })

  it('one substituted character, even one that decodes to the very same bytes (base64url spare bits)', async () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ %'
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.nat(), fc.constantFrom(...alphabet), async (which, at, char) => {
        const { store, token } = pool[which % pool.length]!
        const i = at % token.length
        if (token[i] === char) return
        await expectRefused(store, token.slice(0, i) + char + token.slice(i + 1), 'charSwap')
      }),
      { numRuns: runs('charSwap') },
    )
  })

  it('another spelling of the same bytes: spare low bits, = padding, whitespace, base64 instead of base64url', async () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.nat(),
        fc.nat(),
        fc.constantFrom('spareBit', 'padding', 'whitespace', 'standardAlphabet'),
        fc.constantFrom(' ', '\t', '\n', '\r', '\u00a0', '='),
        async (which, partAt, at, how, filler) => {
          const { store, token, data } = pool[which % pool.length]!
          const parts = token.split('.')
          const candidates = parts.map((p, k) => [p, k] as const).filter(([p]) => p.length > 0)
          const [part, k] = candidates[partAt % candidates.length]!
          const spare = part.length % 4 >= 2
          const pad = (4 - (part.length % 4)) % 4
          const urlChars = /[-_]/.test(part)
          // Each form, where it applies, decodes to the very bytes of `part`: only the spelling rule can refuse it.
          const [respelled, sameBytes] = {
            spareBit: [spare ? part.slice(0, -1) + alphabet[alphabet.indexOf(part.at(-1)!) ^ 1]! : `${part}=`, spare],
            padding: [part + '='.repeat(pad || 1), pad > 0],
            whitespace: [part.slice(0, at % part.length) + filler + part.slice(at % part.length), false],
            standardAlphabet: [urlChars ? part.replace(/-/g, '+').replace(/_/g, '/') : `${part}+`, urlChars],
          }[how] as [string, boolean]
          const mutated = parts.map((p, j) => (j === k ? respelled : p)).join('.')
          if (sameBytes) expect(unb64u(respelled)).toEqual(unb64u(part))
          expect(mutated).not.toBe(token)
          await expectRefused(store, mutated, 'respell')
          // ...and the real token still loads.
          await expectAccepted(store, token, data, 'control')
        },
      ),
      { numRuns: runs('respell') },
    )
  })

  it('truncation at every position', async () => {
    for (const { store, token } of pool) {
      for (let i = 0; i < token.length; i++) await expectRefused(store, token.slice(0, i), 'truncation')
    }
  })
})

// ---- forged headers -----------------------------------------------------------------

const attackerKey = enc.encode('attacker-chosen key, 32 bytes long!!')
const extraHeaders = fc.dictionary(
  fc.constantFrom('kid', 'jku', 'jwk', 'x5u', 'x5c', 'crit', 'b64', 'typ', 'cty', 'zip', 'enc', 'p2c', 'epk', '__proto__', 'constructor'),
  fc.oneof(
    fc.constant('https://evil.example/jwks.json'),
    fc.constant(false),
    fc.constant(['b64']),
    fc.constant(['exp']),
    fc.constant('DEF'),
    fc.constant({ polluted: true }),
    fc.constant({ kty: 'oct', k: b64u(attackerKey) }),
    fc.constant('../../../../dev/null'),
    fc.integer(),
  ),
  { maxKeys: 3 },
)

describe('forged headers are refused', () => {
  it('JWS: alg none / HS384 / HS512 / RS256 / ..., kid, jku, jwk, crit, b64:false, with copied, empty, random, attacker or REAL signatures', async () => {
    const real = pool.filter((r) => r.store === signed)
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.oneof(fc.constant('HS256'), fc.constantFrom('none', 'None', 'NONE', 'HS384', 'HS512', 'RS256', 'ES256', 'PS256', 'EdDSA', 'dir', '')),
        fc.oneof(fc.constant({}), extraHeaders),
        fc.constantFrom('copy', 'empty', 'random', 'attacker', 'realHS256', 'realDeclared', 'missing'),
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        async (which, alg, extra, signature, randomSig) => {
          const { token, data } = real[which % real.length]!
          const [, payloadPart, realSig] = token.split('.')
          // JSON.parse so that a "__proto__" key is an own property of the header, as an attacker's JSON would be.
          const header = JSON.parse(JSON.stringify({ alg, ...extra })) as Record<string, unknown>
          const headerText = JSON.stringify(header)
          const input = `${b64u(enc.encode(headerText))}.${payloadPart}`
          const hash = ({ HS384: 'SHA-384', HS512: 'SHA-512' } as Record<string, string>)[alg] ?? 'SHA-256'
          const sig = {
            copy: realSig,
            empty: '',
            random: b64u(randomSig),
            attacker: await hmac(input, hash, attackerKey),
            realHS256: await hmac(input),
            realDeclared: await hmac(input, hash),
            missing: null,
          }[signature]
          const forged = sig === null ? input : `${input}.${sig}`
          const exactlyOurs = headerText === '{"alg":"HS256"}' && (signature === 'realHS256' || signature === 'realDeclared' || signature === 'copy')
          if (exactlyOurs) await expectAccepted(signed, forged, data, 'jwsHeader')
          else await expectRefused(signed, forged, 'jwsHeader')
        },
      ),
      { numRuns: runs('jwsHeader') },
    )
    assertUnpolluted()
  })

  it('JWS headers validly signed with the real key through jose itself (b64:false with crit, kid, typ)', async () => {
    const payload = enc.encode(`${times(60)}:{"ok":true}`)
    for (const header of [
      { alg: 'HS256', b64: false, crit: ['b64'] },
      { alg: 'HS256', kid: 'k1' },
      { alg: 'HS256', typ: 'JWT' },
      { alg: 'HS256', jwk: { kty: 'oct', k: b64u(attackerKey) } },
    ]) {
      // FlattenedSign: jose's compact signer refuses b64:false; the compact form is the same three parts.
      const jws = await new FlattenedSign(payload).setProtectedHeader(header).sign(hmacRaw)
      await expectRefused(signed, `${jws.protected}.${jws.payload}.${jws.signature}`, 'jwsHeader')
    }
    await expectRefused(signed, await new CompactSign(payload).setProtectedHeader({ alg: 'HS512' }).sign(hmacRaw), 'jwsHeader')
  })

  it('JWE: other alg/enc, extra header fields, real-key encryption, copied parts', async () => {
    const real = pool.filter((r) => r.store === encrypted)
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.oneof(fc.constant('dir'), fc.constantFrom('A256KW', 'RSA-OAEP', 'PBES2-HS256+A128KW', 'ECDH-ES', 'none', 'HS256')),
        fc.oneof(fc.constant('A256GCM'), fc.constantFrom('A128GCM', 'A256CBC-HS512', 'none')),
        fc.oneof(fc.constant({}), extraHeaders),
        fc.constantFrom('real', 'copyRest'),
        async (which, alg, encAlg, extra, how) => {
          const { token, data } = real[which % real.length]!
          const header = JSON.parse(JSON.stringify({ alg, enc: encAlg, ...extra })) as Record<string, unknown>
          const plaintext = enc.encode(`${times(60)}:{"ok":true}`)
          const forged =
            how === 'real'
              ? await encryptRaw(header, plaintext)
              : [b64uJson(header), ...token.split('.').slice(1)].join('.')
          const exactlyOurs = Object.keys(header).length === 2 && header.alg === 'dir' && header.enc === 'A256GCM'
          if (exactlyOurs && how === 'real') await expectAccepted(encrypted, forged, { ok: true }, 'jweHeader')
          else if (exactlyOurs && JSON.stringify(header) === JSON.stringify({ alg: 'dir', enc: 'A256GCM' })) await expectAccepted(encrypted, forged, data, 'jweHeader')
          else await expectRefused(encrypted, forged, 'jweHeader')
        },
      ),
      { numRuns: runs('jweHeader') },
    )
    assertUnpolluted()
  })
})

// ---- validly signed / encrypted garbage: the payload decoder under fire --------

interface Body {
  bytes: Uint8Array
  /** What JSON.parse would make of it, when it is a JSON object; undefined when it must be refused. */
  object?: Record<string, unknown>
}

function nested(depth: number): string {
  return `{"a":${'['.repeat(depth)}1${']'.repeat(depth)}}`
}

const bodyArb: fc.Arbitrary<Body> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => {
    const text = JSON.stringify(v)
    const parsed = JSON.parse(text) as unknown
    const object = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined
    return { bytes: enc.encode(text), object }
  }),
  fc.jsonValue({ maxDepth: 3 }).map((v) => {
    // Own "__proto__", "constructor" and "prototype" keys, at the top and nested, exactly as a browser could send them.
    const text = `{"__proto__":{"polluted":true,"isAdmin":true},"constructor":{"prototype":{"polluted":1}},"prototype":${JSON.stringify(v)},"n":{"__proto__":{"isAdmin":true}}}`
    return { bytes: enc.encode(text), object: JSON.parse(text) as Record<string, unknown> }
  }),
  // Deeper than ~2000 and vitest's own deep equality overflows the stack; the fixed cases below go deeper.
  fc.integer({ min: 1, max: 1500 }).map((d) => {
    const text = nested(d)
    return { bytes: enc.encode(text), object: JSON.parse(text) as Record<string, unknown> }
  }),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => {
    let object: Record<string, unknown> | undefined
    try {
      const parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as unknown
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) object = parsed as Record<string, unknown>
    } catch {
      object = undefined
    }
    return { bytes, object }
  }),
  // Valid JSON object around invalid UTF-8.
  fc.constantFrom(new Uint8Array([0xc3, 0x28]), new Uint8Array([0xed, 0xa0, 0x80]), new Uint8Array([0xff])).map((bad) => ({
    bytes: concat(enc.encode('{"a":"'), bad, enc.encode('"}')),
  })),
)

interface Payload {
  bytes: Uint8Array
  expected?: Record<string, unknown>
}

const payloadArb: fc.Arbitrary<Payload> = fc
  .record({
    issued: fc.oneof(
      { arbitrary: fc.constant('now'), weight: 6 },
      fc.constant('beyond cookieAge'),
      fc.constant('none'),
      fc.constant('11 digits'),
      fc.stringMatching(/^[0-9]{1,10}$/),
    ),
    separator: fc.oneof({ arbitrary: fc.constant('-'), weight: 8 }, fc.constantFrom('', ':', '.', '+', '--')),
    exp: fc.oneof(
      { arbitrary: fc.constant('future'), weight: 6 },
      fc.constant('past'),
      fc.constant('none'),
      fc.constant('17 digits'),
      fc.stringMatching(/^[0-9]{1,16}$/),
    ),
    flag: fc.oneof(
      { arbitrary: fc.constant(':'), weight: 3 },
      { arbitrary: fc.constant('.'), weight: 3 },
      fc.constantFrom('/', ';', '-', ' ', '0', 'a', '\u00e9'),
    ),
    body: bodyArb,
    deflate: fc.oneof({ arbitrary: fc.constant('ok'), weight: 5 }, fc.constantFrom('truncated', 'corrupt', 'raw')),
  })
  .map(({ issued, separator, exp, flag, body, deflate }) => {
    const now = Date.now() / 1000
    const issuedText =
      { now: String(Math.floor(now)), 'beyond cookieAge': String(Math.floor(now) - COOKIE_AGE - 10), none: '', '11 digits': '17000000000' }[issued] ?? issued
    const expText = { future: String(Math.floor(now) + 3600), past: String(Math.floor(now) - 10), none: '', '17 digits': '99999999999999999' }[exp] ?? exp
    // Times are at most 10 digits; random digits within a few seconds of a limit could go either way: no verdict there.
    const issuedOk = issuedText !== '' && issuedText.length <= 10 && Number(issuedText) + COOKIE_AGE > now + 5
    const expOk = separator === '-' && expText !== '' && expText.length <= 10 && Number(expText) > now + 5 && issuedOk
    const expUnsure =
      (issuedText !== '' && issuedText.length <= 10 && Math.abs(Number(issuedText) + COOKIE_AGE - now) <= 5) ||
      (expText !== '' && expText.length <= 10 && Math.abs(Number(expText) - now) <= 5)
    let packed = body.bytes
    let bodyOk = body.object !== undefined
    if (flag === '.') {
      const deflated = deflateSync(body.bytes)
      if (deflate === 'ok') packed = deflated
      else if (deflate === 'truncated') {
        packed = deflated.subarray(0, Math.max(0, deflated.length - 3))
        bodyOk = false
      } else if (deflate === 'corrupt') {
        packed = Uint8Array.from(deflated, (b, i) => (i === 0 ? b ^ 0xff : b))
        bodyOk = false
      } else bodyOk = false // not deflated at all, but flagged so
    } else if (flag !== ':') bodyOk = false
    const bytes = concat(enc.encode(`${issuedText}${separator}${expText}`), enc.encode(flag), packed)
    if (expUnsure || (bodyOk === false && (deflate === 'truncated' || deflate === 'corrupt' || deflate === 'raw') && flag === '.')) {
      // A damaged deflate stream can still inflate to something by chance: only "no throw, no pollution" is asserted.
      return { bytes, expected: expOk && bodyOk ? body.object : undefined, unsure: true } as Payload & { unsure: boolean }
    }
    return { bytes, expected: expOk && bodyOk ? body.object : undefined }
  })

async function checkDecoded(store: SessionStore, token: string, payload: Payload & { unsure?: boolean }, group: string): Promise<void> {
  if (payload.unsure) {
    count(group)
    await loadItems(store, token)
  } else if (payload.expected) await expectAccepted(store, token, payload.expected, group)
  else await expectRefused(store, token, group)
  assertUnpolluted()
}

describe('validly signed or encrypted garbage is decoded safely', () => {
  it('signed: any expiry, flag, body and deflate stream', async () => {
    await fc.assert(
      fc.asyncProperty(payloadArb, async (payload) => {
        await checkDecoded(signed, await signRaw('{"alg":"HS256"}', payload.bytes), payload, 'signedPayload')
      }),
      { numRuns: runs('signedPayload') },
    )
  })

  it('encrypted: any expiry, flag, body and deflate stream', async () => {
    await fc.assert(
      fc.asyncProperty(payloadArb, async (payload) => {
        await checkDecoded(encrypted, await encryptRaw({ alg: 'dir', enc: 'A256GCM' }, payload.bytes), payload, 'encryptedPayload')
      }),
      { numRuns: runs('encryptedPayload') },
    )
  })

  it('64 KB: a payload inflating to exactly the cap loads, one byte more is refused, a bomb costs nothing', async () => {
    const exp = times(60)
    const withValue = (n: number) => enc.encode(`{"v":"${'a'.repeat(n - 8)}"}`)
    const exact = withValue(64 * 1024)
    expect(exact.length).toBe(65536)
    for (const [body, ok] of [
      [exact, true],
      [withValue(64 * 1024 + 1), false],
      // 4 MiB of one byte deflates to about 4 KB: the largest bomb a token under the 8192-character cap can carry.
      [enc.encode(`{"v":"${'a'.repeat(4 * 1024 * 1024)}"}`), false],
    ] as const) {
      const payload = concat(enc.encode(`${exp}.`), deflateSync(body))
      for (const [store, token] of [
        [signed, await signRaw('{"alg":"HS256"}', payload)],
        [encrypted, await encryptRaw({ alg: 'dir', enc: 'A256GCM' }, payload)],
      ] as const) {
        expect(token.length).toBeLessThan(8192)
        if (ok) await expectAccepted(store, token, JSON.parse(new TextDecoder().decode(body)) as Record<string, unknown>, 'fixed')
        else await expectRefused(store, token, 'fixed')
      }
    }
    // An uncompressed 64 KB token is over the length cap and never reaches the crypto.
    await expectRefused(signed, await signRaw('{"alg":"HS256"}', concat(enc.encode(`${exp}:`), exact)), 'fixed')
  })

  it('64 KB values: saving one that would not load back is a SessionTooLarge, not a cookie nobody can read', async () => {
    for (const store of [signed, encrypted]) {
      // Compresses to a few hundred bytes, but inflates past the 64 KiB load cap.
      const session = store.open()
      await session.aset('v', 'a'.repeat(64 * 1024))
      await expect(session.asave()).rejects.toBeInstanceOf(SessionTooLarge)
      // Just under the cap: saved compressed, and it loads.
      const fits = { v: 'a'.repeat(64 * 1024 - 16) }
      await expectAccepted(store, await saveWith(store, fits), fits, 'fixed')
    }
  })

  it('deeply nested JSON, at the top level and under __proto__', async () => {
    const exp = times(60)
    /** Iterative: recursion (vitest's toEqual, JSON.stringify) overflows the stack long before this depth. */
    const depth = (value: unknown): number => {
      let d = 0
      while (Array.isArray(value)) {
        value = value[0]
        d++
      }
      expect(value).toBe(1)
      return d
    }
    for (const [key, d] of [['a', 30_000], ['__proto__', 20_000]] as const) {
      const text = `{${JSON.stringify(key)}:${'['.repeat(d)}1${']'.repeat(d)}}`
      const token = await signRaw('{"alg":"HS256"}', concat(enc.encode(`${exp}.`), deflateSync(enc.encode(text))))
      count('fixed')
      const { items, sessionKey } = await loadItems(signed, token)
      expect(sessionKey).toBe(token)
      expect(items.map(([k]) => k)).toEqual([key])
      expect(depth(items[0]![1])).toBe(d)
    }
    await expectRefused(signed, await signRaw('{"alg":"HS256"}', concat(enc.encode(`${exp}.`), deflateSync(enc.encode('['.repeat(60_000))))), 'fixed')
    assertUnpolluted()
  })
})

// ---- random input -------------------------------------------------------------------

describe('random input is refused', () => {
  it('random strings, random bytes, JWS- and JWE-shaped noise, oversized tokens', async () => {
    const b64 = fc.uint8Array({ maxLength: 120 }).map(b64u)
    const token = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.string({ unit: 'grapheme', maxLength: 100 }),
      fc.uint8Array({ maxLength: 300 }).map((b) => String.fromCharCode(...b)),
      fc.tuple(b64, b64, b64).map((p) => p.join('.')),
      fc.tuple(b64, b64, b64, b64, b64).map((p) => p.join('.')),
      fc.tuple(fc.constantFrom('eyJhbGciOiJIUzI1NiJ9', 'eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0'), b64, b64).map((p) => p.join('.')),
      fc.nat({ max: 20_000 }).map((n) => 'A'.repeat(8193 + n)),
    )
    await fc.assert(
      fc.asyncProperty(token, fc.boolean(), async (t, useSigned) => {
        await expectRefused(useSigned ? signed : encrypted, t, 'random')
      }),
      { numRuns: runs('random') },
    )
    assertUnpolluted()
  })
})

// ---- real tokens in the wrong place -------------------------------------------------

describe('valid tokens from elsewhere are refused', () => {
  const small = fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !k.startsWith('_')), fc.jsonValue({ maxDepth: 2 }).filter((v) => !hasNegativeZero(v)), { maxKeys: 4 })
  it('another secret, the other cookie engine, or expired', async () => {
    await fc.assert(
      fc.asyncProperty(small, fc.constantFrom('otherSecret', 'crossEngine', 'expired'), fc.boolean(), async (data, how, useSigned) => {
        const target = useSigned ? signed : encrypted
        const source = {
          otherSecret: useSigned ? otherSigned : otherEncrypted,
          crossEngine: useSigned ? encrypted : signed,
          expired: target,
        }[how]
        let token: string
        try {
          token = how === 'expired' ? await saveRecord(source, data, -Math.floor(Math.random() * 1e6)) : await saveWith(source, data)
        } catch (err) {
          if (err instanceof SessionTooLarge) return
          throw err
        }
        await expectRefused(target, token, 'foreign')
      }),
      { numRuns: runs('foreign') },
    )
  })
})

// ---- validly signed arbitrary data: round trips ---------------------------------------

function hasNegativeZero(v: unknown): boolean {
  if (Object.is(v, -0)) return true
  if (typeof v !== 'object' || v === null) return false
  return Object.values(v).some(hasNegativeZero)
}

describe('arbitrary JSON data round-trips through every engine, pollution-free', () => {
  it('session data of fc.jsonValue() values, nested __proto__ / constructor / prototype keys included', async () => {
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.parse(`{"__proto__":${JSON.stringify(v)},"constructor":{"prototype":{"polluted":true}}}`) as JsonValue),
    )
    const data = fc.dictionary(
      fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '1', '0')).filter((k) => !k.startsWith('_')),
      value,
      { maxKeys: 5 },
    )
    await fc.assert(
      fc.asyncProperty(data, fc.constantFrom('signed', 'encrypted', 'memory'), async (record, which) => {
        const store = { signed, encrypted, memory }[which]
        const session = store.open()
        if (hasNegativeZero(record)) {
          await expect(session.aupdate(record)).rejects.toBeInstanceOf(SessionSerializationError)
          return
        }
        let token: string
        try {
          await session.aupdate(record)
          await session.asave()
          token = session.sessionKey!
        } catch (err) {
          if (err instanceof SessionTooLarge) return
          throw err
        }
        count('roundTrip')
        const loaded = await loadItems(store, token)
        expect(loaded.sessionKey).toBe(token)
        // Compared as objects: integer-like keys come back first (JS object order), see the report.
        expect(Object.fromEntries(loaded.items)).toEqual(record)
        assertUnpolluted()
      }),
      { numRuns: runs('roundTrip') },
    )
  })

  it('top-level __proto__ / constructor keys written by an engine load back as plain data', async () => {
    const record = JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"isAdmin":true}},"ok":1}') as Record<string, unknown>
    for (const store of [signed, encrypted]) {
      const token = await saveRecord(store, record)
      await expectAccepted(store, token, record, 'fixed')
      const session = store.open(token)
      expect(await session.aget('__proto__' as never)).toEqual({ polluted: true })
      expect(Object.getPrototypeOf(Object.fromEntries(await session.aitems()))).toBe(Object.prototype)
    }
    // The Session API keeps "_" keys for itself, "__proto__" included.
    await expect(signed.open().aupdate(JSON.parse('{"__proto__":1}') as Record<string, unknown>)).rejects.toThrow(/reserved/)
    assertUnpolluted()
  })
})

// ---- the serializer ------------------------------------------------------------------

describe('jsonSerializer', () => {
  it('round-trips every fc.jsonValue() exactly, and refuses -0', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        count('serializerRoundTrip')
        if (hasNegativeZero(value)) {
          expect(() => jsonSerializer.dumps(value, 'k')).toThrow(SessionSerializationError)
          return
        }
        expect(jsonSerializer.loads(jsonSerializer.dumps(value, 'k'))).toStrictEqual(value)
      }),
      { numRuns: runs('serializerRoundTrip') },
    )
    expect(() => jsonSerializer.dumps({ n: [0, -0] }, 'score')).toThrow(/Session key "score" at \.n\[1\] holds a negative zero \(-0\)/)
  })

  it('refuses, wherever it is nested, anything JSON would not give back unchanged', () => {
    class Point {
      x = 1
    }
    const circular: Record<string, unknown> = { a: 1 }
    circular.self = circular
    const poison = fc.constantFrom<[string, () => unknown]>(
      ['Date', () => new Date(0)],
      ['Map', () => new Map([[1, 2]])],
      ['Set', () => new Set([1])],
      ['NaN', () => Number.NaN],
      ['Infinity', () => Number.POSITIVE_INFINITY],
      ['-Infinity', () => Number.NEGATIVE_INFINITY],
      ['-0', () => -0],
      ['undefined', () => undefined],
      ['BigInt', () => 1n],
      ['function', () => () => 1],
      ['Symbol', () => Symbol('s')],
      ['class instance', () => new Point()],
      ['RegExp', () => /x/],
      ['Uint8Array', () => new Uint8Array(2)],
      ['sparse array', () => [1, , 3]], // eslint-disable-line no-sparse-arrays
      ['circular', () => circular],
      ['boxed string', () => new String('s')], // eslint-disable-line no-new-wrappers
      ['Error', () => new Error('e')],
    )
    const layer = fc.record({
      kind: fc.constantFrom('array', 'object'),
      key: fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__proto__', 'constructor', 'toJSON')),
      before: fc.array(fc.jsonValue({ maxDepth: 1 }).filter((v) => !hasNegativeZero(v)), { maxLength: 2 }),
    })
    fc.assert(
      fc.property(poison, fc.array(layer, { maxLength: 6 }), ([, make], layers) => {
        count('serializerPoison')
        let value: unknown = make()
        for (const { kind, key, before } of layers) {
          if (kind === 'array') value = [...before, value]
          else {
            const obj: Record<string, unknown> = {}
            before.forEach((v, i) => Object.defineProperty(obj, `s${i}`, { value: v, enumerable: true, writable: true, configurable: true }))
            Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true })
            value = obj
          }
        }
        expect(() => jsonSerializer.dumps(value, 'k')).toThrow(SessionSerializationError)
      }),
      { numRuns: runs('serializerPoison') },
    )
  })
})

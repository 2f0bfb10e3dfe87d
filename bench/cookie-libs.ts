/**
 * The cookie-session implementations under test, as write(payload) → cookie value and read(value) → data | null.
 * Only Web APIs here: this module also runs bundled inside a bare EdgeVM (see cookie-edge-entry.ts).
 */
import { createSessionStore, commitSession, cookieEngine, resolveSettings, type SessionEngine } from '../src/index.js'

export type Payload = Record<string, unknown>

export interface CookieLib {
  write(payload: Payload): Promise<string>
  read(value: string): Promise<unknown>
  /**
   * `n` different valid cookies for `payload`, same size. Only for edge-session, which remembers cookies it
   * verified: cycling through more of them than it remembers makes every timed read verify afresh.
   */
  freshValues?(payload: Payload, n: number): Promise<string[]>
}

export const SECRET = 'bench-secret-0123456789abcdefghijklmnopqrstuvwxyz'

/** The engine alone: what the core calls once per load and once per save. */
export function edgeEngine(encrypt: boolean): CookieLib {
  const settings = resolveSettings({ secret: SECRET })
  const engine = cookieEngine({ encrypt })(settings)
  return {
    write: (payload) => saveWith(engine, payload, settings.cookieAge),
    read: (value) => engine.load(value),
    freshValues: (payload, n) => freshValues(engine, payload, settings.cookieAge, n),
  }
}

function saveWith(engine: SessionEngine, payload: Payload, expiryAge: number): Promise<string> {
  const data = new Map(Object.entries(payload))
  return engine.save('', { data, changed: new Set(data.keys()), deleted: new Set(), replace: true, expiryAge, expiryAgeOf: () => expiryAge }, { mustCreate: true })
}

/** Distinct cookies of equal size: the same data with expiries 1000 s apart (apart even if making them takes a while). */
async function freshValues(engine: SessionEngine, payload: Payload, age: number, n: number): Promise<string[]> {
  const out: string[] = []
  for (let i = 0; i < n; i++) out.push(await saveWith(engine, payload, age - (i + 1) * 1000))
  return out
}

/**
 * The public API a request handler uses. Read: `store.open(cookie)` + `aget`. Write: `store.open()` + `aset` of
 * each key + `commitSession`, which is how the peers below write too (a fresh session built from the data).
 * A request that reads and then changes its session pays one read plus one write.
 */
export function edgeApi(encrypt: boolean): CookieLib {
  const store = createSessionStore({ secret: SECRET, engine: cookieEngine({ encrypt }) })
  return {
    async write(payload) {
      const session = store.open()
      for (const [k, v] of Object.entries(payload)) await session.aset(k, v)
      const { cookie } = await commitSession(session, { hadCookie: false })
      return cookie!.value
    },
    async read(value) {
      const session = store.open(value)
      const userId = await session.aget('userId')
      return userId === undefined ? null : { userId }
    },
    // Made by the store's own engine (saving does not fill the verified-cookie memory; loading does).
    freshValues: (payload, n) => freshValues(store.engine, payload, store.settings.cookieAge, n),
  }
}

export interface Base64url {
  encode(bytes: Uint8Array): string
  decode(text: string): Uint8Array<ArrayBuffer>
}

/** base64url without Buffer, for the edge runtime (the same approach jose takes on Node 20). */
export const webBase64url: Base64url = {
  encode(bytes) {
    let s = ''
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
  },
  decode(text) {
    const s = atob(text.replace(/-/g, '+').replace(/_/g, '/'))
    const out = new Uint8Array(s.length)
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i)
    return out
  },
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * The async floor: `b64url(json).b64url(HMAC-SHA256)` with a key imported once. No expiry, no header,
 * no compression: the least any signed cookie on WebCrypto can do.
 */
export async function webCryptoFloor(b64: Base64url): Promise<CookieLib> {
  const key = await crypto.subtle.importKey('raw', encoder.encode(SECRET), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
  return {
    async write(payload) {
      const body = b64.encode(encoder.encode(JSON.stringify(payload)))
      const sig = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(body)))
      return `${body}.${b64.encode(sig)}`
    },
    async read(value) {
      const dot = value.indexOf('.')
      if (dot === -1) return null
      const body = value.slice(0, dot)
      const ok = await crypto.subtle.verify('HMAC', key, b64.decode(value.slice(dot + 1)), encoder.encode(body))
      return ok ? JSON.parse(decoder.decode(b64.decode(body))) : null
    },
  }
}

/** Changes one character in the middle of the value, staying inside the base64url alphabet. */
export function tamper(value: string): string {
  const i = value.length >> 1
  const c = value[i] === 'A' ? 'B' : 'A'
  return value.slice(0, i) + c + value.slice(i + 1)
}

export const PAYLOAD_S: Payload = { userId: 42, role: 'admin' }

/** About 1 KB of JSON: a user plus a shopping cart. */
export const PAYLOAD_L: Payload = {
  userId: 42,
  role: 'admin',
  cart: Array.from({ length: 14 }, (_, i) => ({ sku: `SKU-${1000 + i * 37}`, name: `Item number ${i + 1}`, qty: (i % 3) + 1, price: 9.99 + i })),
}

export type Op = 'write' | 'read' | 'tamper' | 'repeat'
export const OPS: Op[] = ['write', 'read', 'tamper', 'repeat']
/** More than the cookie engine remembers (256), so cycling through them never hits its memory. */
const FRESH = 1024
export const PAYLOADS = { S: PAYLOAD_S, L: PAYLOAD_L } as const
export type Size = keyof typeof PAYLOADS

export interface Prepared {
  /** `lib|op|size` → one operation. */
  ops: Map<string, () => Promise<unknown>>
  /** `lib|size` → length of the cookie value it writes. */
  sizes: Map<string, number>
}

/**
 * Makes each library's cookies once and checks it behaves (a good cookie reads back, a tampered one
 * does not) before anything is timed: a fast wrong answer must not pass for a fast library.
 */
export async function prepare(libs: Record<string, CookieLib>): Promise<Prepared> {
  const ops = new Map<string, () => Promise<unknown>>()
  const sizes = new Map<string, number>()
  for (const [name, lib] of Object.entries(libs)) {
    for (const [size, payload] of Object.entries(PAYLOADS) as [Size, Payload][]) {
      const good = await lib.write(payload)
      const bad = tamper(good)
      const back = (await lib.read(good)) as Payload | null
      if (!back || back.userId !== 42) throw new Error(`${name}: its own ${size} cookie did not read back (${JSON.stringify(back)})`)
      const rejected = await lib.read(bad)
      if (rejected !== null) throw new Error(`${name}: a tampered ${size} cookie was accepted (${JSON.stringify(rejected)})`)
      sizes.set(`${name}|${size}`, good.length)
      ops.set(`${name}|write|${size}`, () => lib.write(payload))
      ops.set(`${name}|tamper|${size}`, () => lib.read(bad))
      if (lib.freshValues) {
        const fresh = await lib.freshValues(payload, FRESH)
        if (new Set(fresh).size !== FRESH || ((await lib.read(fresh[FRESH - 1]!)) as Payload | null)?.userId !== 42) {
          throw new Error(`${name}: fresh ${size} cookies are not distinct and valid`)
        }
        let i = 0
        ops.set(`${name}|read|${size}`, () => lib.read(fresh[i++ & (FRESH - 1)]!))
        ops.set(`${name}|repeat|${size}`, () => lib.read(good))
      } else {
        ops.set(`${name}|read|${size}`, () => lib.read(good))
      }
    }
  }
  return { ops, sizes }
}

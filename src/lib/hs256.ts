/**
 * The one JWS the signed-cookie engine writes and accepts: compact serialization, protected header
 * `{"alg":"HS256"}` spelled exactly as jose writes it, nothing else. Signed here rather than with jose's
 * `CompactSign`/`compactVerify`, whose per-call header parsing, validation and extra awaits cost ~7 µs on top
 * of the HMAC (more than the HMAC itself in Node) and 12 KiB of every middleware bundle. The tokens are
 * byte-for-byte jose's (test/hs256.test.ts signs and verifies with jose both ways).
 *
 * The HMAC is Web Crypto's, except where the runtime also has Node's crypto (route handlers, server
 * actions, `proxy.ts`): there the same non-extractable key, as a Node `KeyObject`, signs synchronously,
 * without the hop to a thread-pool worker that every `crypto.subtle` call takes (30-80 µs under load on a
 * small VM, against ~3 µs of HMAC). The edge runtime has no Node crypto and uses Web Crypto.
 */
import * as base64url from './base64url.js'
import { utf8 } from './crypto.js'
import { nodeBuiltin } from './node-builtin.js'

/** base64url of `{"alg":"HS256"}`. */
export const HS256_HEADER = 'eyJhbGciOiJIUzI1NiJ9'
const SIGNATURE_BYTES = 32
/** 32 bytes in unpadded base64url. */
const SIGNATURE_CHARS = 43

interface Hmac {
  /** A string is hashed as its UTF-8 bytes. */
  update(data: string): Hmac
  digest(): Uint8Array
}
interface NodeCrypto {
  KeyObject: { from(key: CryptoKey): unknown }
  createHmac(algorithm: 'sha256', key: unknown): Hmac
  timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean
}

const native = () => nodeBuiltin<NodeCrypto>('crypto')

/** Base64url as jose decodes it, but only in its one canonical spelling: no padding, no stray bits. Also used by the JWE codec. */
export function decodeCanonical(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null
  const bytes = base64url.decode(text)
  return base64url.encode(bytes) === text ? bytes : null
}

export interface Hs256 {
  sign(payload: Uint8Array<ArrayBuffer>): Promise<string>
  /** The payload of a token signed by any of the keys, or `null`. Never throws for a bad token. */
  verify(token: string): Promise<Uint8Array | null>
}

/**
 * Signs with the first of `keys`, verifies against each in turn (the current secret, then the fallbacks).
 * The keys are HMAC-SHA256 `CryptoKey`s; they never leave this module in any other form.
 */
export function hs256(keys: Promise<CryptoKey[]>): Hs256 {
  const nodeKeys = keys.then((list) => {
    const node = native()
    return node ? list.map((key) => node.KeyObject.from(key)) : null
  })

  /** The HMAC of the UTF-8 of `input` (ASCII here: a token's signing input). Node encodes the string itself. */
  async function mac(index: number, input: string): Promise<Uint8Array> {
    const node = await nodeKeys
    if (node) return native()!.createHmac('sha256', node[index]).update(input).digest()
    return new Uint8Array(await crypto.subtle.sign('HMAC', (await keys)[index]!, utf8(input)))
  }

  return {
    async sign(payload) {
      const input = `${HS256_HEADER}.${base64url.encode(payload)}`
      return `${input}.${base64url.encode(await mac(0, input))}`
    },
    async verify(token) {
      const first = token.indexOf('.')
      const last = token.lastIndexOf('.')
      // Exactly three parts, our header byte for byte: a token with kid, jku, crit, b64, another alg
      // or another spelling of the same header is not one we wrote.
      if (first !== HS256_HEADER.length || token.slice(0, first) !== HS256_HEADER || last === first) return null
      const encodedSignature = token.slice(last + 1)
      if (encodedSignature.length !== SIGNATURE_CHARS) return null
      const signature = decodeCanonical(encodedSignature)
      const payload = decodeCanonical(token.slice(first + 1, last))
      if (!signature || signature.length !== SIGNATURE_BYTES || !payload) return null
      const input = token.slice(0, last)
      const node = native()
      const list = await keys
      // Web Crypto takes bytes: encoded once, on the first key that needs them, for every key tried.
      let bytes: Uint8Array<ArrayBuffer> | undefined
      for (let i = 0; i < list.length; i++) {
        const ok = node
          ? node.timingSafeEqual(await mac(i, input), signature)
          : await crypto.subtle.verify('HMAC', list[i]!, signature as Uint8Array<ArrayBuffer>, (bytes ??= utf8(input)))
        if (ok) return payload
      }
      return null
    },
  }
}

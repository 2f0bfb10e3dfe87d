import type { EdgeVM } from '@edge-runtime/vm'
import { CompactSign, base64url, compactVerify } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { HS256_HEADER, hs256 } from '../src/lib/hs256.js'
import { bareEdgeVM, bundleForEdge } from './support/edge-vm.js'

/**
 * src/lib/hs256.ts signs the cookie engine's JWS without jose: Node's crypto where the runtime has it,
 * Web Crypto at the edge. Both must be jose's tokens byte for byte, and accept exactly what we write.
 */
const RAW = [new Uint8Array(32).fill(7), new Uint8Array(32).fill(9)]
const importKey = (raw: Uint8Array<ArrayBuffer>) =>
  crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
const keys = () => Promise.all(RAW.map(importKey))
const bytes = (text: string) => new TextEncoder().encode(text)
const payloads = [bytes(''), bytes('1767225600:{"userId":42}'), crypto.getRandomValues(new Uint8Array(1000)), new Uint8Array([0, 255, 254, 0x2e])]

const joseSign = async (payload: Uint8Array<ArrayBuffer>, raw = RAW[0]!, header: Record<string, unknown> = { alg: 'HS256' }) =>
  new CompactSign(payload).setProtectedHeader(header as { alg: 'HS256' }).sign(await importKey(raw))

let vm: EdgeVM
/** The same module inside a bare EdgeVM (no `process`: the Web Crypto path). Bytes cross as number arrays. */
const edge = {
  sign: async (payload: Uint8Array) =>
    (await vm.evaluate(`Edge.run('sign', ${JSON.stringify([...payload])})`)) as string,
  verify: async (token: string) => {
    const r = (await vm.evaluate(`Edge.run('verify', ${JSON.stringify(token)})`)) as number[] | null
    return r && new Uint8Array(r)
  },
}

beforeAll(async () => {
  const code = await bundleForEdge('src/lib/hs256.ts', 'Hs256')
  vm = bareEdgeVM(code)
  vm.evaluate(`globalThis.Edge = (() => {
    const raw = ${JSON.stringify(RAW.map((r) => [...r]))}
    const codec = Hs256.hs256(Promise.all(raw.map((r) => crypto.subtle.importKey('raw', new Uint8Array(r), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']))))
    return { run: async (op, arg) => op === 'sign' ? codec.sign(new Uint8Array(arg)) : ((r) => r && Array.from(r))(await codec.verify(arg)) }
  })()`)
})

describe('HS256 compact JWS, byte for byte jose', () => {
  it('the header is {"alg":"HS256"} as jose serializes it', () => {
    expect(HS256_HEADER).toBe(base64url.encode('{"alg":"HS256"}'))
  })

  it('signs exactly the token jose signs, in Node and in a bare EdgeVM', async () => {
    expect(vm.evaluate('typeof process')).toBe('undefined')
    const codec = hs256(keys())
    for (const payload of payloads) {
      const expected = await joseSign(payload)
      expect(await codec.sign(payload)).toBe(expected)
      expect(await edge.sign(payload)).toBe(expected)
    }
  })

  it('jose verifies our tokens, and we verify jose\'s, in both runtimes', async () => {
    const codec = hs256(keys())
    for (const payload of payloads) {
      const ours = await codec.sign(payload)
      expect((await compactVerify(ours, await importKey(RAW[0]!), { algorithms: ['HS256'] })).payload).toEqual(payload)
      const theirs = await joseSign(payload)
      expect(await codec.verify(theirs)).toEqual(payload)
      expect(await edge.verify(theirs)).toEqual(payload)
    }
  })

  it('accepts a token signed with a fallback key, refuses one signed with an unknown key', async () => {
    const codec = hs256(keys())
    const payload = payloads[1]!
    expect(await codec.verify(await joseSign(payload, RAW[1]))).toEqual(payload)
    expect(await edge.verify(await joseSign(payload, RAW[1]))).toEqual(payload)
    const stranger = await joseSign(payload, new Uint8Array(32).fill(1))
    expect(await codec.verify(stranger)).toBeNull()
    expect(await edge.verify(stranger)).toBeNull()
  })

  it('refuses every other token: tampered, other headers, other spellings, wrong shapes, garbage', async () => {
    const codec = hs256(keys())
    const payload = payloads[1]!
    const good = await codec.sign(payload)
    const [h, p, s] = good.split('.') as [string, string, string]
    const flip = (text: string, i: number) => text.slice(0, i) + (text[i] === 'A' ? 'B' : 'A') + text.slice(i + 1)
    const bad = [
      `${h}.${flip(p, 3)}.${s}`,
      `${h}.${p}.${flip(s, 10)}`,
      // The last character carries 2 unused bits: a different spelling of the same signature bytes.
      `${h}.${p}.${s.slice(0, -1)}${String.fromCharCode(s.charCodeAt(42) + 1)}`,
      `${h}.${p}.${s}=`,
      `${h}.${p}`,
      `${h}.${p}.${s}.${s}`,
      `${h}..${s}`,
      '',
      '...',
      'not a token',
      // Valid jose tokens we never write: another header, or the same header spelled differently.
      await joseSign(payload, RAW[0], { alg: 'HS256', kid: 'x' }),
      await joseSign(payload, RAW[0], { alg: 'HS256', b64: true, crit: ['b64'] }),
      `${base64url.encode('{ "alg": "HS256" }')}.${p}.${s}`,
    ]
    for (const token of bad) {
      expect(await codec.verify(token), token).toBeNull()
      expect(await edge.verify(token), token).toBeNull()
    }
    // Sanity: the one good token passes, so the refusals above are not a verifier that refuses everything.
    expect(await codec.verify(good)).toEqual(payload)
  })
})

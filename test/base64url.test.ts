import { base64url as jose } from 'jose'
import { describe, expect, it } from 'vitest'
import { decode, encode } from '../src/lib/base64url.js'
import { bareEdgeVM, bundleForEdge } from './support/edge-vm.js'

/**
 * src/lib/base64url.ts encodes every part of the cookie engine's tokens in place of jose's module: Node's Buffer
 * where the runtime has it, btoa/atob at the edge. Both must be jose's encoding exactly, so the tokens stay jose's.
 */
const samples = [
  new Uint8Array(0),
  new Uint8Array([0xfb, 0xff]), // "-" and "_" in the output, where base64 has "+" and "/"
  ...Array.from({ length: 40 }, (_, n) => crypto.getRandomValues(new Uint8Array(n))),
  crypto.getRandomValues(new Uint8Array(50_000)), // past String.fromCharCode's slice of 32 768 bytes
]

describe('base64url, as jose encodes and decodes it', () => {
  it('in Node (Buffer)', () => {
    for (const bytes of samples) {
      const text = jose.encode(bytes)
      expect(encode(bytes)).toBe(text)
      expect(decode(text)).toEqual(bytes)
    }
  })

  it('decodes into bytes of its own, not a view on a shared buffer', () => {
    const bytes = decode(jose.encode(new Uint8Array([1, 2, 3])))
    expect(bytes.byteOffset).toBe(0)
    expect(bytes.buffer.byteLength).toBe(3)
  })

  it('in a bare EdgeVM (btoa, atob: no Buffer there)', async () => {
    const vm = bareEdgeVM(await bundleForEdge('src/lib/base64url.ts', 'B64'))
    expect(vm.evaluate('typeof Buffer')).toBe('undefined')
    for (const bytes of samples) {
      const text = jose.encode(bytes)
      expect(vm.evaluate(`B64.encode(new Uint8Array(${JSON.stringify([...bytes])}))`)).toBe(text)
      expect(vm.evaluate(`Array.from(B64.decode(${JSON.stringify(text)}))`)).toEqual([...bytes])
    }
  })
})

import { deflateSync, inflateSync } from 'fflate'
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { deflateRaw, inflateRaw } from '../src/lib/deflate.js'
import { bareEdgeVM, bundleForEdge } from './support/edge-vm.js'

/**
 * src/lib/deflate.ts, the edge runtime's DEFLATE, against two independent implementations (Node's zlib, the C
 * reference, and fflate) in both directions, on inputs chosen to reach every block type and code path.
 * src/lib/compress.ts's tests run it through the engine's entry points, in Node and in a bare EdgeVM.
 */
const bytes = (text: string) => new TextEncoder().encode(text)
const cart = bytes(
  JSON.stringify({
    userId: 42,
    role: 'admin',
    cart: Array.from({ length: 14 }, (_, i) => ({ sku: `SKU-${1000 + i * 37}`, name: `Item number ${i + 1}`, qty: (i % 3) + 1, price: 9.99 + i })),
  }),
)

/** A deterministic generator, so a failure names an input that can be made again. */
function random(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

/** `n` bytes from an alphabet of `alphabet` symbols, with copies of earlier runs mixed in (what LZ77 finds). */
function sample(seed: number, n: number, alphabet: number): Uint8Array {
  const next = random(seed)
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    if (i > 8 && next() < 0.3) {
      const back = 1 + Math.floor(next() * Math.min(i - 1, 40_000))
      const len = 3 + Math.floor(next() * 300)
      for (let k = 0; k < len && i < n; k++, i++) out[i] = out[i - back]!
      i--
    } else {
      out[i] = Math.floor(next() * alphabet)
    }
  }
  return out
}

const inputs: [string, Uint8Array][] = [
  ['empty', new Uint8Array(0)],
  ['one byte', new Uint8Array([7])],
  ['a 1 KB cart of JSON', cart],
  ['one byte repeated 100 000 times', new Uint8Array(100_000).fill(97)],
  ['random bytes (incompressible)', sample(1, 5000, 256)],
  ['two symbols', sample(2, 20_000, 2)],
  ['64 KiB, matches up to the window', sample(3, 65_536, 16)],
  ['text with long-distance copies', sample(4, 70_000, 64)],
  ...Array.from({ length: 40 }, (_, i): [string, Uint8Array] => [`sample ${i}`, sample(100 + i, (i * 977) % 9000, [2, 4, 26, 96, 256][i % 5]!)]),
]

describe('deflateRaw', () => {
  it.each(inputs)('%s: zlib, fflate and inflateRaw all read it back exactly', (_name, data) => {
    const packed = deflateRaw(data)
    expect(new Uint8Array(inflateRawSync(packed))).toEqual(data)
    expect(inflateSync(packed)).toEqual(data)
    expect(inflateRaw(packed, data.length)).toEqual(data)
  })

  it('compresses a cart to within 2% of zlib level 6, and better than fflate, which it replaces at the edge', () => {
    const ours = deflateRaw(cart).length
    expect(ours).toBeLessThanOrEqual(deflateRawSync(cart, { level: 6 }).length * 1.02)
    expect(ours).toBeLessThan(deflateSync(cart, { level: 6 }).length)
  })

  it('writes a fixed-code block when that is shorter (a short input), and it is read back', () => {
    const short = bytes('{"userId":42,"role":"admin","theme":"dark","lang":"en","tz":"Europe/Paris"}')
    const packed = deflateRaw(short)
    // BTYPE, bits 1-2 of the first byte: 01 = fixed Huffman codes.
    expect((packed[0]! >> 1) & 3).toBe(1)
    expect(new Uint8Array(inflateRawSync(packed))).toEqual(short)
    // And a long one gets its own (dynamic) codes.
    expect((deflateRaw(cart)[0]! >> 1) & 3).toBe(2)
  })

  it('keeps no state between calls that changes the output (its hash tables are reused)', () => {
    const first = deflateRaw(cart)
    for (const [, data] of inputs) deflateRaw(data)
    expect(deflateRaw(cart)).toEqual(first)
  })

  it('still writes the same bytes after its position counter wraps (every ~33 000 calls it clears its table)', () => {
    const first = deflateRaw(cart)
    const tiny = bytes('abcabcabc')
    for (let i = 0; i < 40_000; i++) deflateRaw(tiny)
    expect(deflateRaw(cart)).toEqual(first)
    expect(new Uint8Array(inflateRawSync(deflateRaw(inputs[7]![1])))).toEqual(inputs[7]![1])
  })
})

describe('inflateRaw', () => {
  const zlibVariants: [string, Parameters<typeof deflateRawSync>[1]][] = [
    ['stored blocks (level 0)', { level: 0 }],
    ['level 1 (no lazy matching)', { level: 1 }],
    ['level 9', { level: 9 }],
    ['fixed codes only', { strategy: constants.Z_FIXED }],
    ['Huffman only, no matches', { strategy: constants.Z_HUFFMAN_ONLY }],
    ['run-length matches only', { strategy: constants.Z_RLE }],
    ['a small window and memory', { windowBits: 9, memLevel: 1 }],
  ]
  it.each(zlibVariants)('reads what zlib writes: %s, multi-block inputs included', (_name, options) => {
    for (const [, data] of inputs) expect(inflateRaw(deflateRawSync(data, options), data.length)).toEqual(data)
  })

  it('reads what fflate writes at every level', () => {
    for (const level of [0, 1, 4, 6, 9] as const) {
      for (const [, data] of inputs) expect(inflateRaw(deflateSync(data, { level }), data.length)).toEqual(data)
    }
  })

  it('answers null, not an error, for output one byte over the limit, and holds at most the limit', () => {
    const data = sample(7, 30_000, 8)
    const packed = deflateRaw(data)
    expect(inflateRaw(packed, data.length)).toEqual(data)
    expect(inflateRaw(packed, data.length - 1)).toBeNull()
    expect(inflateRaw(deflateRawSync(data, { level: 0 }), data.length - 1)).toBeNull()
    // Far more output than input: the buffer doubles from a guess, so it ends at most twice the output.
    const repetitive = bytes('abc'.repeat(30_000))
    const out = inflateRaw(deflateRaw(repetitive), 100 * repetitive.length)!
    expect(out).toEqual(repetitive)
    expect(out.buffer.byteLength).toBeLessThanOrEqual(2 * repetitive.length)
  })

  const cartPacked = deflateRaw(cart)
  it.each<[string, Uint8Array]>([
    ['an empty input', new Uint8Array(0)],
    ['a truncated stream', cartPacked.subarray(0, cartPacked.length >> 1)],
    ['the reserved block type 3', new Uint8Array([0x07, 0x00])],
    ['a stored block whose length and complement disagree', new Uint8Array([0x01, 0x05, 0x00, 0x00, 0x00, 1, 2, 3, 4, 5])],
    ['a stored block longer than the input', new Uint8Array([0x01, 0x05, 0x00, 0xfa, 0xff, 1, 2])],
    // Fixed codes, then length code 257 (3 bytes) at distance 1 with nothing written before it.
    ['a match reaching before the start', new Uint8Array([0x03, 0x02, 0x00])],
    // Dynamic: HLIT 257, HDIST 1, HCLEN 4, with code length codes 16, 17, 18 all of length 1: over-subscribed.
    ['an over-subscribed code', new Uint8Array([0x05, 0x00, 0x92, 0x04])],
  ])('throws a RangeError for %s', (_name, data) => {
    expect(() => inflateRaw(data, 1 << 20)).toThrow(RangeError)
    // And zlib agrees that it is not valid DEFLATE.
    expect(() => inflateRawSync(data, { finishFlush: constants.Z_FINISH })).toThrow()
  })
})

describe('in a bare EdgeVM', () => {
  it('deflates the same bytes as in Node and reads zlib and fflate output (no Node built-ins there)', async () => {
    const vm = bareEdgeVM(await bundleForEdge('src/lib/deflate.ts', 'Deflate'))
    expect(vm.evaluate('typeof process')).toBe('undefined')
    const inVM = (call: string, data: Uint8Array): number[] | null =>
      vm.evaluate(`(() => { const r = Deflate.${call}(new Uint8Array(${JSON.stringify([...data])})${call === 'inflateRaw' ? ', 1 << 20' : ''}); return r && Array.from(r) })()`) as number[] | null
    for (const [, data] of inputs.slice(0, 12)) {
      expect(inVM('deflateRaw', data)).toEqual([...deflateRaw(data)])
      expect(inVM('inflateRaw', deflateRawSync(data))).toEqual([...data])
      expect(inVM('inflateRaw', deflateSync(data))).toEqual([...data])
    }
  })
})

import type { EdgeVM } from '@edge-runtime/vm'
import { deflateSync } from 'fflate'
import { beforeAll, describe, expect, it } from 'vitest'
import { deflate, inflate } from '../src/lib/compress.js'
import { bareEdgeVM, bundleForEdge } from './support/edge-vm.js'

/**
 * src/lib/compress.ts runs Node's zlib where the runtime has it and src/lib/deflate.ts at the edge. Node tests the
 * first directly; the second runs inside a bare EdgeVM (no `process`), which is where it runs for users.
 * Bytes cross the realm boundary as arrays of numbers.
 */
let vm: EdgeVM

interface Impl {
  name: string
  deflate(data: Uint8Array): Promise<Uint8Array>
  /** The output, or null, and the size of the buffer the output lives in (what it holds in memory). */
  inflate(data: Uint8Array, limit: number): Promise<{ out: Uint8Array; held: number } | null>
}

const node: Impl = {
  name: "Node (the runtime's zlib)",
  deflate: async (data) => deflate(data),
  inflate: async (data, limit) => {
    const out = inflate(data, limit)
    return out && { out, held: out.buffer.byteLength }
  },
}

const edge: Impl = {
  name: 'bare EdgeVM (src/lib/deflate.ts)',
  deflate: async (data) => new Uint8Array((await vm.evaluate(`Array.from(Compress.deflate(new Uint8Array(${JSON.stringify([...data])})))`)) as number[]),
  inflate: async (data, limit) => {
    const r = (await vm.evaluate(
      `(() => { const o = Compress.inflate(new Uint8Array(${JSON.stringify([...data])}), ${limit}); return o && { out: Array.from(o), held: o.buffer.byteLength } })()`,
    )) as { out: number[]; held: number } | null
    return r && { out: new Uint8Array(r.out), held: r.held }
  },
}

beforeAll(async () => {
  vm = bareEdgeVM(await bundleForEdge('src/lib/compress.ts', 'Compress'))
})

const bytes = (text: string) => new TextEncoder().encode(text)
const cart = bytes(JSON.stringify(Array.from({ length: 14 }, (_, i) => ({ sku: `SKU-${1000 + i * 37}`, name: `Item number ${i + 1}`, qty: (i % 3) + 1 }))))
const MiB = 1024 * 1024

describe.each([node, edge])('compress in $name', (impl) => {
  it('the edge copy really has no process (so it is the src/lib/deflate.ts path)', () => {
    expect(vm.evaluate('typeof process')).toBe('undefined')
  })

  it('round-trips a cart and compresses it', async () => {
    const packed = await impl.deflate(cart)
    expect(packed.length).toBeLessThan(cart.length / 2)
    expect((await impl.inflate(packed, 64 * 1024))!.out).toEqual(cart)
  })

  // Issue 8 item 12: the cap was allocated on every load (limit + 1 bytes, ~3 ms with a 256 MiB cap).
  it('does not reserve the cap up front: a 1 KB payload under a 256 MiB cap holds well under 1 MiB', async () => {
    const r = await impl.inflate(await impl.deflate(cart), 256 * MiB)
    expect(r!.out).toEqual(cart)
    expect(r!.held).toBeLessThan(MiB)
  })

  it('grows past its first guess for output far larger than the input, and the result is exact', async () => {
    const repetitive = bytes('abc'.repeat(100_000))
    const packed = await impl.deflate(repetitive)
    expect(packed.length * 8).toBeLessThan(repetitive.length)
    const r = await impl.inflate(packed, 256 * MiB)
    expect(r!.out).toEqual(repetitive)
    expect(r!.held).toBeLessThan(4 * repetitive.length)
  })

  it('is exact at the cap: an output of exactly the limit inflates, one byte more is refused', async () => {
    const data = bytes('x'.repeat(5000))
    const packed = await impl.deflate(data)
    expect((await impl.inflate(packed, 5000))!.out).toEqual(data)
    expect(await impl.inflate(packed, 4999)).toBeNull()
  })

  it('refuses a decompression bomb without holding more than the cap', async () => {
    // 16 MiB of zeros deflates to ~16 KB; the cap is 64 KiB.
    const bomb = deflateSync(new Uint8Array(16 * MiB), { level: 9 })
    expect(await impl.inflate(bomb, 64 * 1024)).toBeNull()
  })

  it('inflates a stored (uncompressed) block, growing for it too', async () => {
    const data = crypto.getRandomValues(new Uint8Array(20_000))
    const stored = deflateSync(data, { level: 0 })
    expect((await impl.inflate(stored, MiB))!.out).toEqual(data)
    expect(await impl.inflate(stored, 19_999)).toBeNull()
    expect(await impl.inflate(stored, 10_000)).toBeNull()
  })

  it('throws on bytes that are not DEFLATE (the engine turns that into an empty session)', async () => {
    await expect(impl.inflate(new Uint8Array([0xff, 0xff, 0xff, 0xff]), 1024)).rejects.toThrow()
  })
})

describe('the two implementations read each other', () => {
  it('a cookie deflated in Node (a route handler) inflates at the edge (the middleware), and back', async () => {
    const fromNode = await node.deflate(cart)
    const fromEdge = await edge.deflate(cart)
    expect((await edge.inflate(fromNode, 64 * 1024))!.out).toEqual(cart)
    expect((await node.inflate(fromEdge, 64 * 1024))!.out).toEqual(cart)
  })
})

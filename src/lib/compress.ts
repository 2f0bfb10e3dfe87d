import { deflateRaw, inflateRaw } from './deflate.js'
import { nodeBuiltin } from './node-builtin.js'

/**
 * Raw DEFLATE (RFC 1951) for cookie payloads. Both implementations below write and read the same
 * format, so a cookie written by a Node route handler is read by the edge middleware and back.
 *
 * - Node's own zlib where the runtime has it (src/lib/node-builtin.ts): route handlers, server actions,
 *   `proxy.ts`, scripts. ≈ 15 µs for a 1 KB cart, most of it zlib's per-call setup (a stream object and its state).
 * - src/lib/deflate.ts, in plain JS, everywhere else: the edge runtime (Next's sandbox and a bare EdgeVM) has
 *   neither Node's zlib nor `CompressionStream`. Where `CompressionStream` does exist (Node, browsers) it is the
 *   slowest option for a cookie: a stream per call cost ≈ 260 µs for the same 1 KB.
 */
interface NativeZlib {
  deflateRawSync(data: Uint8Array, options: { level: number; windowBits: number; chunkSize: number }): Uint8Array
  inflateRawSync(data: Uint8Array, options: { maxOutputLength: number }): Uint8Array
}

const LEVEL = 6

export function deflate(data: Uint8Array): Uint8Array {
  const zlib = nodeBuiltin<NativeZlib>('zlib')
  if (!zlib) return deflateRaw(data)
  // A window no larger than the input loses nothing and is set up faster (zlib allocates and clears it per call);
  // one output chunk of about the input's size spares zlib its default 16 KiB buffer. 9 is raw deflate's least.
  const windowBits = Math.min(15, Math.max(9, Math.ceil(Math.log2(data.length))))
  return plain(zlib.deflateRawSync(data, { level: LEVEL, windowBits, chunkSize: Math.max(64, data.length + 64) }))
}

/** Node hands back a Buffer: the same bytes as a plain Uint8Array view, so both paths return one type. */
function plain(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/**
 * Inflates `data`, or returns `null` when the output would exceed `limit` bytes (a decompression bomb).
 * Memory grows with the real output and stops just past `limit`; nothing of `limit`'s size is reserved
 * up front (a 256 MiB cap must not cost 256 MiB, and ~3 ms, on every load of a 1 KB cookie).
 */
export function inflate(data: Uint8Array, limit: number): Uint8Array | null {
  const zlib = nodeBuiltin<NativeZlib>('zlib')
  if (!zlib) return inflateRaw(data, limit)
  try {
    return plain(zlib.inflateRawSync(data, { maxOutputLength: limit }))
  } catch (err) {
    // ERR_BUFFER_TOO_LARGE is the cap; anything else is bad data, for the caller to refuse.
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') return null
    throw err
  }
}

/** zlib's header for DEFLATE with a 32 KiB window at the default level, as Python's `zlib.compress` writes it. */
const ZLIB_HEADER = [0x78, 0x9c] as const

/** RFC 1950's Adler-32 checksum, the zlib trailer. */
function adler32(data: Uint8Array): number {
  let a = 1
  let b = 0
  // 5552 bytes is the most that can be summed before b must be reduced to stay exact in a double.
  for (let i = 0; i < data.length; i += 5552) {
    const end = Math.min(i + 5552, data.length)
    for (let j = i; j < end; j++) {
      a += data[j]!
      b += a
    }
    a %= 65521
    b %= 65521
  }
  return (b * 65536 + a) >>> 0
}

/**
 * DEFLATE in a zlib wrapper (RFC 1950), as Python's `zlib.compress` writes it: Django's signed cookies
 * use it. The raw stream comes from `deflate`, so it takes the same fast path.
 */
export function zlibDeflate(data: Uint8Array): Uint8Array {
  const body = deflate(data)
  const out = new Uint8Array(body.length + 6)
  out.set(ZLIB_HEADER)
  out.set(body, 2)
  new DataView(out.buffer).setUint32(out.length - 4, adler32(data))
  return out
}

/** `zlibDeflate` undone under `inflate`'s `limit`; `null` when it does not fit. Throws on a bad header or checksum. */
export function zlibInflate(data: Uint8Array, limit: number): Uint8Array | null {
  const cmf = data[0] ?? 0
  const flg = data[1] ?? 0
  // Method 8 (DEFLATE), a valid header check, and no preset dictionary (which Python never writes).
  if (data.length < 6 || (cmf & 0x0f) !== 8 || (cmf * 256 + flg) % 31 !== 0 || flg & 0x20) throw new RangeError('not a zlib stream')
  const out = inflate(data.subarray(2, data.length - 4), limit)
  if (out === null) return null
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  if (view.getUint32(data.length - 4) !== adler32(out)) throw new RangeError('zlib checksum mismatch')
  return out
}

import { deflateSync, inflateSync } from 'fflate'

/**
 * Raw DEFLATE, in pure JS: `CompressionStream` is missing from the edge runtime, and a cookie
 * written by a Node route handler must still be readable by the edge middleware.
 */
export function deflate(data: Uint8Array): Uint8Array {
  return deflateSync(data, { level: 6 })
}

/**
 * Inflates into a buffer of `limit + 1` bytes that never grows, so a decompression bomb costs at
 * most that much memory. Returns `null` when the output does not fit.
 */
export function inflate(data: Uint8Array, limit: number): Uint8Array | null {
  const out = inflateSync(data, { out: new Uint8Array(limit + 1) })
  return out.length > limit ? null : out
}

/**
 * Unpadded base64url (RFC 7515 §2), the encoding of every JOSE token part, as jose writes it. Our own rather than
 * jose's module: Node's Buffer does it several times faster where the runtime has one (a third of a small cookie's
 * signing time went to jose's btoa path), and the edge bundle is smaller. Strictness is the caller's:
 * `decodeCanonical` (src/lib/hs256.ts) takes only the one spelling this encoder writes.
 */
import { nodeBuiltin } from './node-builtin.js'

interface NodeBuffer {
  Buffer: {
    from(buffer: ArrayBufferLike, byteOffset: number, length: number): { toString(encoding: 'base64url'): string }
    from(text: string, encoding: 'base64url'): Uint8Array
  }
}

const buffer = () => nodeBuiltin<NodeBuffer>('buffer')?.Buffer

export function encode(bytes: Uint8Array): string {
  const node = buffer()
  if (node) return node.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
  let binary = ''
  // In slices: String.fromCharCode takes its bytes as arguments, and engines cap how many a call may have.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(binary).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')
}

/** The bytes of base64url `text`, which must hold only base64url characters (unchecked here). */
export function decode(text: string): Uint8Array<ArrayBuffer> {
  const node = buffer()
  if (node) {
    const bytes = node.from(text, 'base64url')
    // A Buffer may be a view on Node's shared pool: copy it out, so the bytes are a plain array of their own.
    return new Uint8Array(bytes)
  }
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'))
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

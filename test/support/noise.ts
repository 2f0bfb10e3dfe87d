/**
 * Deterministic text of a 64-character alphabet (xorshift32, fixed seed): deflate saves little on it, and the same
 * length always gives the same bytes, so a cookie's size is the same on every run.
 */
export function noise(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  let state = 2463534242
  let out = ''
  for (let i = 0; i < length; i++) {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    out += alphabet[(state >>> 0) % alphabet.length]
  }
  return out
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789'
/** The largest multiple of 36 below 256: bytes at or above it are redrawn, so every character is equally likely. */
const LIMIT = 256 - (256 % ALPHABET.length)
export const KEY_LENGTH = 32
/** Django's rule (behaviour 68): a shorter key is treated as no key at all. */
export const MIN_KEY_LENGTH = 8

/** 32 characters of `[a-z0-9]` (about 165 bits), lowercase like Django's so case-insensitive stores are safe. */
export function newSessionKey(): string {
  let key = ''
  while (key.length < KEY_LENGTH) {
    const bytes = crypto.getRandomValues(new Uint8Array(KEY_LENGTH * 2))
    for (const byte of bytes) {
      if (byte < LIMIT) key += ALPHABET[byte % ALPHABET.length]
      if (key.length === KEY_LENGTH) break
    }
  }
  return key
}

/** What `newSessionKey()` makes. A store that holds only such keys can refuse any other without a lookup. */
export function isSessionKey(key: string): boolean {
  return key.length === KEY_LENGTH && /^[a-z0-9]+$/.test(key)
}

export function validKey(key: string | null | undefined): string | null {
  return typeof key === 'string' && key.length >= MIN_KEY_LENGTH ? key : null
}

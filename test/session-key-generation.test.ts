/**
 * How newSessionKey() turns random bytes into a key: 32 characters of [a-z0-9], each equally likely. A byte maps
 * to `byte % 36`, so bytes from 252 up (256 is not a multiple of 36) would favour a-d: they are drawn again.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { isSessionKey, newSessionKey } from '../src/core/keys.js'

afterEach(() => vi.restoreAllMocks())

/** Makes crypto.getRandomValues fill each call's array from the next function in `fills`. */
function randomBytes(...fills: ((i: number) => number)[]) {
  return vi.spyOn(crypto, 'getRandomValues').mockImplementation(<T extends ArrayBufferView | null>(array: T): T => {
    const fill = fills.shift()
    if (!fill) throw new Error('more random bytes asked for than scripted')
    const bytes = array as unknown as Uint8Array
    for (let i = 0; i < bytes.length; i++) bytes[i] = fill(i)
    return array
  })
}

describe('newSessionKey()', () => {
  it('redraws bytes from 252 up: a batch of only those yields nothing, the next batch makes the key', () => {
    const spy = randomBytes(
      (i) => 252 + (i % 4),
      () => 37, // 37 % 36 = 1: "b"
    )
    expect(newSessionKey()).toBe('b'.repeat(32))
    expect(spy).toHaveBeenCalledTimes(2)
  })

  it('keeps 251, the last byte below the limit, and maps bytes to the alphabet in order', () => {
    // 251 % 36 = 35 ("9"), 0 ("a"), 35 ("9"), 26 ("0"), ... one batch of 64 bytes is enough.
    randomBytes((i) => [251, 0, 35, 26][i % 4]!)
    expect(newSessionKey()).toBe('9a90'.repeat(8))
  })

  it('stops at 32 characters however many usable bytes a batch holds, and the key is one isSessionKey() accepts', () => {
    randomBytes((i) => i)
    const key = newSessionKey()
    expect(key).toBe('abcdefghijklmnopqrstuvwxyz012345')
    expect(isSessionKey(key)).toBe(true)
  })

  it('takes what a batch gives and draws again for the rest', () => {
    // A first batch with 10 usable bytes, then a second for the other 22.
    const spy = randomBytes(
      (i) => (i < 10 ? 2 : 255),
      () => 3,
    )
    expect(newSessionKey()).toBe(`${'c'.repeat(10)}${'d'.repeat(22)}`)
    expect(spy).toHaveBeenCalledTimes(2)
  })
})

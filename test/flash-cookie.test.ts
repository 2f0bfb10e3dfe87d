/**
 * The flash cookie's own rules (issue 15), framework-free: its options (name, maxAge), what `read` keeps of a
 * signed value that is not a list of messages, the signing salt and secret fallbacks, the size rule with the
 * cookie's own name, the deletion cookie, and the checks of `flashMessage`. test/flash.test.ts is the Next flow.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { djangoSigning } from '../src/engines/django-cookie.js'
import { SessionTooLarge } from '../src/errors.js'
import { flashCookies, flashMessage, type FlashMessage } from '../src/flash.js'
import { createSessionStore } from '../src/store.js'

const SECRET = 'flash cookie test secret, 32 bytes or more'
const OLD_SECRET = 'the secret before rotation, 32 bytes or more'
const settings = createSessionStore({ secret: SECRET }).settings

afterEach(() => void vi.useRealTimers())

/** Hex of `bytes` random bytes: deflate saves only about half of it. */
function noise(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('')
}

describe('flashCookies', () => {
  it("is named 'messages' by default and by the cookieName option otherwise, in the cookie and its deletion", async () => {
    expect(flashCookies(settings).cookieName).toBe('messages')
    const cookies = flashCookies(settings, { cookieName: 'notes' })
    expect(cookies.cookieName).toBe('notes')
    expect((await cookies.write([{ level: 'info', message: 'Hi' }])).name).toBe('notes')
    expect(cookies.deletion().name).toBe('notes')
  })

  it('deletion() is an empty cookie expired at once (Max-Age 0, Expires at the epoch), with the session attributes', () => {
    expect(flashCookies(settings).deletion()).toMatchObject({ name: 'messages', value: '', maxAge: 0, expires: new Date(0), path: '/', httpOnly: true })
  })

  it('drops messages older than the maxAge option, and keeps them until then', async () => {
    const cookies = flashCookies(settings, { maxAge: 10 })
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-11-29T12:00:00Z') })
    const cookie = await cookies.write([{ level: 'info', message: 'Hi' }])
    vi.setSystemTime(new Date('2026-11-29T12:00:10Z'))
    expect(await cookies.read(cookie.value)).toEqual([{ level: 'info', message: 'Hi' }])
    vi.setSystemTime(new Date('2026-11-29T12:00:11Z'))
    expect(await cookies.read(cookie.value)).toEqual([])
  })

  it('keeps only well-formed messages of a signed value, and reads a signed value that is not a list as none', async () => {
    const cookies = flashCookies(settings)
    const mixed = [null, 5, 'text', { level: 'fatal', message: 'x' }, { level: 'info', message: 5 }, { level: 'info' }, { level: 'error', message: 'Kept' }]
    expect(await cookies.read((await cookies.write(mixed as unknown as FlashMessage[])).value)).toEqual([{ level: 'error', message: 'Kept' }])
    for (const value of [{ level: 'info', message: 'not in a list' }, 'text', null]) {
      expect(await cookies.read((await cookies.write(value as unknown as FlashMessage[])).value)).toEqual([])
    }
    expect(await cookies.read('')).toEqual([])
  })

  it("is signed under a salt of its own: a value signed with the session secret under another salt is not read", async () => {
    const cookies = flashCookies(settings)
    const messages = [{ level: 'info', message: 'planted' }]
    const own = await djangoSigning({ secret: SECRET, salt: 'edge-session.flash' }).dumps(messages)
    expect(await cookies.read(own)).toEqual(messages)
    for (const salt of ['', 'django.contrib.sessions.backends.signed_cookies']) {
      expect(await cookies.read(await djangoSigning({ secret: SECRET, salt }).dumps(messages))).toEqual([])
    }
  })

  it('reads a cookie written under a secret that is now in secretFallbacks', async () => {
    const before = await flashCookies(createSessionStore({ secret: OLD_SECRET }).settings).write([{ level: 'success', message: 'Saved' }])
    const rotated = createSessionStore({ secret: SECRET, secretFallbacks: [OLD_SECRET] }).settings
    expect(await flashCookies(rotated).read(before.value)).toEqual([{ level: 'success', message: 'Saved' }])
    expect(await flashCookies(settings).read(before.value)).toEqual([])
  })

  it("counts the cookie's own name toward the 4096-byte limit", async () => {
    const messages = [{ level: 'info' as const, message: noise(2200) }]
    const value = (await flashCookies(settings).write(messages)).value
    // A name that leaves the short-named cookie fitting, and pushes this one over.
    const name = 'n'.repeat(4096 - value.length - 60)
    await expect(flashCookies(settings, { cookieName: name }).write(messages)).rejects.toBeInstanceOf(SessionTooLarge)
  })
})

describe('flashMessage', () => {
  it('refuses an unknown level, naming the levels and what it received', () => {
    expect(() => flashMessage('fatal' as 'error', 'x')).toThrow(TypeError)
    expect(() => flashMessage('fatal' as 'error', 'x')).toThrow('debug, info, success, warning, error')
    expect(() => flashMessage('fatal' as 'error', 'x')).toThrow('"fatal"')
  })

  it('refuses a message that is not a non-empty string', () => {
    for (const message of ['', 5, null, undefined]) {
      expect(() => flashMessage('info', message as string)).toThrow(TypeError)
      expect(() => flashMessage('info', message as string)).toThrow('non-empty string')
    }
  })

  it('returns the message as given', () => {
    expect(flashMessage('warning', 'Careful')).toEqual({ level: 'warning', message: 'Careful' })
  })
})

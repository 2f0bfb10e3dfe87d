/**
 * The signed-cookie engine's 4096-byte limit, at the byte: the whole Set-Cookie value (name, token and every
 * attribute) may be exactly 4096 bytes, and not one more (RFC 6265bis §5.6; we count the attributes to be safe).
 */
import { describe, expect, it } from 'vitest'
import { commitSession, cookieEngine, createSessionStore, serializeCookie } from '../src/index.js'
import { SessionTooLarge } from '../src/errors.js'
import { noise } from './support/noise.js'

const SECRET = 'cookie size boundary secret, 32+ bytes'
describe.each([false, true])('cookie size limit, encrypt: %s', (encrypt) => {
  const options = { secret: SECRET, engine: cookieEngine({ encrypt }), cookieDomain: '.example.com' }
  const data = { blob: noise(3700) }

  /** The Set-Cookie header a first save of `data` sends, for a cookie named `name`. */
  async function header(name: string, cookieAge?: number): Promise<string> {
    const session = createSessionStore({ ...options, cookieName: name, ...(cookieAge ? { cookieAge } : {}) }).open()
    await session.aupdate(data)
    const { cookie } = await commitSession(session, { hadCookie: false })
    return serializeCookie(cookie!)
  }

  /** The error a save of `data` under `name` fails with, or null when it fits. */
  async function refusal(name: string, cookieAge?: number): Promise<SessionTooLarge | null> {
    return header(name, cookieAge).then(
      () => null,
      (err: unknown) => err as SessionTooLarge,
    )
  }

  it('a Set-Cookie of exactly 4096 bytes is saved; 4097 bytes is SessionTooLarge naming both numbers', async () => {
    // The name is the one part whose length moves the header one byte at a time.
    const base = (await header('a')).length
    expect(base).toBeGreaterThan(3500)
    expect(base).toBeLessThan(4096)
    const fits = 'a'.repeat(1 + 4096 - base)
    expect((await header(fits)).length).toBe(4096)

    const error = await refusal(`${fits}a`)
    expect(error).toBeInstanceOf(SessionTooLarge)
    expect(error).toMatchObject({ code: 'ERR_SESSION_TOO_LARGE', size: 4097, limit: 4096 })
    expect(error!.message).toContain('4097 bytes')
    expect(error!.message).toContain('4096-byte limit')
  })

  it('counts the Max-Age digits the save sends: a shorter expiry leaves room for a longer name', async () => {
    // The default cookieAge (1209600, 7 digits) against 60 (2 digits): the same token, five bytes apart.
    const base = (await header('a')).length
    const atLimit = 'a'.repeat(1 + 4096 - base)
    expect(await refusal(`${atLimit}aaaaa`, 60)).toBeNull()
    expect((await header(`${atLimit}aaaaa`, 60)).length).toBe(4096)
    expect(await refusal(`${atLimit}aaaaaa`, 60)).toMatchObject({ size: 4097 })
  })
})

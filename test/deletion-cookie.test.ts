/**
 * The cookie commitSession() sends to end a session in the browser (Django behaviours 134-135): empty, expired,
 * without HttpOnly, and Secure whenever the session cookie itself is, so the browser accepts the replacement.
 */
import { describe, expect, it } from 'vitest'
import { commitSession, createSessionStore, memoryEngine, serializeCookie, type SessionOptions } from '../src/index.js'

const SECRET = 'deletion cookie test secret, 32+ bytes'

async function deletionCookie(options: SessionOptions) {
  const store = createSessionStore({ secret: SECRET, engine: memoryEngine(), ...options })
  // A cookie the store does not know, read: the session is empty and the browser's copy must go.
  const session = store.open('unknown-key-0123456789')
  await session.aget('anything')
  const result = await commitSession(session, { hadCookie: true })
  expect(result.vary).toBe(true)
  return result.cookie!
}

describe('the deletion cookie', () => {
  it('is Secure with cookieSecure: true and SameSite=Lax', async () => {
    const cookie = await deletionCookie({ cookieSecure: true, cookieSameSite: 'lax' })
    expect(cookie).toMatchObject({ value: '', maxAge: 0, secure: true, httpOnly: false, sameSite: 'lax' })
    expect(serializeCookie(cookie)).toBe('sessionid=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax; Secure')
  })

  it('is not Secure when the session cookie is not (cookieSecure: false, SameSite=Lax or Strict, no prefix)', async () => {
    for (const cookieSameSite of ['lax', 'strict', false] as const) {
      const cookie = await deletionCookie({ cookieSecure: false, cookieSameSite })
      expect(cookie.secure).toBe(false)
      expect(serializeCookie(cookie)).not.toContain('Secure')
    }
  })

  it('is Secure for SameSite=None and for __Secure- and __Host- names, and keeps the path and domain', async () => {
    expect((await deletionCookie({ cookieSecure: true, cookieSameSite: 'none' })).secure).toBe(true)
    const prefixed = await deletionCookie({ cookieSecure: true, cookieName: '__Secure-sid', cookiePath: '/app', cookieDomain: '.example.com' })
    expect(prefixed).toMatchObject({ name: '__Secure-sid', path: '/app', domain: '.example.com', secure: true })
    expect((await deletionCookie({ cookieSecure: true, cookieName: '__Host-sid' })).secure).toBe(true)
  })

  it('is sent even for a 5xx response, but only when the request had a cookie', async () => {
    const store = createSessionStore({ secret: SECRET, engine: memoryEngine() })
    const read = store.open('unknown-key-0123456789')
    await read.aget('a')
    expect((await commitSession(read, { hadCookie: true, status: 500 })).cookie).toMatchObject({ value: '', maxAge: 0 })
    const fresh = store.open()
    await fresh.aget('a')
    expect(await commitSession(fresh, { hadCookie: false })).toEqual({ cookie: null, vary: true })
  })
})

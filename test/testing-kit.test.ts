/**
 * The testing kit (edge-session/testing), used the way its README section shows: the demo's real server
 * actions, route handler and middleware run here without a Next server, against a fake browser.
 */
import { NextRequest } from 'next/server'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { memoryEngine } from '../src/engines/memory.js'
import { createSessionStore } from '../src/store.js'
import { fakeBrowser, mintSessionCookie, redirectTarget } from '../src/testing/index.js'

const browser = await vi.hoisted(async () => {
  // The demo's lib/session.ts reads its secret when imported.
  process.env.SESSION_SECRET ??= 'testing-kit secret, at least 32 bytes long'
  const { fakeBrowser } = await import('../src/testing/next-fakes.js')
  return fakeBrowser('http://127.0.0.1:3000')
})
vi.mock('next/headers', () => browser.nextHeaders)

const { login, logout, savePreferences } = await import('../app/actions.js')
const { POST: verifyCookieCheck } = await import('../app/cookie-check/verify/route.js')
const { middleware } = await import('../middleware.js')
const { store } = await import('../lib/session.js')

/** The path a redirect() pointed to, without its query (the demo adds notices there). */
function redirectPath(thrown: unknown): string | undefined {
  const target = redirectTarget(thrown)
  return target === null ? undefined : new URL(target, 'http://x').pathname
}

function form(fields: Record<string, string>): FormData {
  const data = new FormData()
  for (const [key, value] of Object.entries(fields)) data.set(key, value)
  return data
}

async function session() {
  return store.open(browser.cookies.get('sessionid'))
}

beforeEach(() => {
  browser.clearCookies()
})

describe('fakeBrowser: server actions, a route handler and the middleware without a server', () => {
  it("runs the demo's login action: a Set-Cookie with the signed-in session, then redirect()", async () => {
    browser.request()
    const thrown = await login(form({ username: 'ada', password: 'lovelace', next: '/preferences' })).catch((e: unknown) => e)
    expect(redirectPath(thrown)).toBe('/preferences')
    // A new key, the user, the expiry: one Set-Cookie each, the last one a browser-session cookie.
    const sessionCookies = browser.sent.filter((h) => h.startsWith('sessionid='))
    expect(sessionCookies.length).toBeGreaterThanOrEqual(3)
    expect(sessionCookies.at(-1)).toMatch(/^sessionid=[^;]+; HttpOnly; Path=\/; SameSite=Lax$/)
    // And a flash message for the page it lands on.
    expect(browser.sentCookies.filter((c) => c.name === 'messages')).toHaveLength(1)
    expect(await (await session()).aget('user')).toEqual({ username: 'ada', name: 'Ada Lovelace' })
  })

  it('a wrong password sets no cookie and redirects back to the login page', async () => {
    browser.request()
    const thrown = await login(form({ username: 'ada', password: 'nope' })).catch((e: unknown) => e)
    expect(redirectPath(thrown)).toBe('/login')
    expect(browser.sent).toEqual([])
  })

  it('starts signed in with a minted cookie, and the middleware lets it through', async () => {
    const minted = await mintSessionCookie(store, { user: { username: 'ada', name: 'Ada Lovelace' } })
    browser.setCookie(minted.cookie.name, minted.cookie.value)
    const response = await middleware(new NextRequest(browser.fetchRequest('/account')))
    expect(response.headers.get('x-middleware-next')).toBe('1')
    browser.receive(response)
    // slidingRefresh is on in the demo: the middleware re-sent the cookie with a fresh expiry.
    expect(browser.sent).toHaveLength(1)
    expect(browser.sentCookies[0]).toMatchObject({ name: 'sessionid', maxAge: 1209600 })
    expect(await (await session()).aget('user')).toEqual({ username: 'ada', name: 'Ada Lovelace' })
  })

  it('the middleware sends an anonymous visitor to the login page, with no cookie', async () => {
    const response = await middleware(new NextRequest(browser.fetchRequest('/preferences')))
    expect(response.status).toBe(307)
    const location = new URL(response.headers.get('location')!)
    expect(location.pathname + location.search).toBe('/login?next=/preferences')
    browser.receive(response)
    expect(browser.sent).toEqual([])
  })

  it('a preference saved in one action is read in the next request; logout deletes the cookie', async () => {
    const minted = await mintSessionCookie(store, { user: { username: 'ada', name: 'Ada Lovelace' } })
    browser.setCookie('sessionid', minted.sessionKey)
    browser.request()
    expect(redirectPath(await savePreferences(form({ fav_color: 'purple' })).catch((e: unknown) => e))).toBe('/preferences')
    expect(browser.sentCookies.filter((c) => c.name === 'sessionid').at(-1)).toMatchObject({ maxAge: 1209600 })
    expect(await (await session()).aget('fav_color')).toBe('purple')

    browser.request()
    expect(redirectPath(await logout().catch((e: unknown) => e))).toBe('/login')
    expect(browser.sent.filter((h) => h.startsWith('sessionid='))).toEqual([
      expect.stringMatching(/^sessionid=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=\/; SameSite=Lax$/),
    ])
    expect(browser.cookies.has('sessionid')).toBe(false)
  })

  it('runs the cookie-check route handler: its write is committed with no save call', async () => {
    const minted = await mintSessionCookie(store, { user: { username: 'ada', name: 'Ada Lovelace' } })
    const s = store.open(minted.sessionKey)
    await s.asetTestCookie()
    await s.asave()
    browser.setCookie('sessionid', s.sessionKey!)
    browser.request()
    const response = await verifyCookieCheck()
    expect(response.headers.get('location')).toBe('/cookie-check?result=worked')
    // The session write, and a flash message that waits in its cookie for the next page.
    expect(browser.sentCookies.map((c) => c.name)).toEqual(['sessionid', 'messages'])
    expect(await (await session()).atestCookieWorked()).toBe(false)
  })
})

describe('mintSessionCookie', () => {
  const memory = createSessionStore<{ user?: string }>({ secret: 'mint test secret of at least 32 bytes!!', engine: memoryEngine() })

  it('writes the session to the store and returns the cookie in every shape a test needs', async () => {
    const minted = await mintSessionCookie(memory, { user: 'ada' }, { url: 'http://127.0.0.1:3000' })
    expect(await memory.open(minted.sessionKey).aget('user')).toBe('ada')
    expect(minted.cookieHeader).toBe(`sessionid=${minted.sessionKey}`)
    expect(minted.setCookieHeader).toMatch(new RegExp(`^sessionid=${minted.sessionKey}; Expires=.+; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax$`))
    const [cookie] = minted.storageState.cookies
    expect(minted.storageState.origins).toEqual([])
    expect(cookie).toMatchObject({ name: 'sessionid', value: minted.sessionKey, domain: '127.0.0.1', path: '/', httpOnly: true, secure: false, sameSite: 'Lax' })
    expect(Math.abs(cookie!.expires - (Date.now() / 1000 + 1209600))).toBeLessThan(5)
  })

  it('a browser-close expiry gives a session cookie (expires -1), and the store domain wins', async () => {
    const scoped = createSessionStore<{ user?: string }>({ secret: 'mint test secret of at least 32 bytes!!', engine: memoryEngine(), cookieDomain: '.example.com' })
    const minted = await mintSessionCookie(scoped, { user: 'ada' }, { expiry: 0 })
    expect(minted.storageState.cookies[0]).toMatchObject({ domain: '.example.com', expires: -1 })
    expect(minted.setCookieHeader).not.toMatch(/Max-Age/)
  })
})

describe('redirectTarget', () => {
  it('reads the URL out of Next redirect signal, and nothing out of other errors', async () => {
    const { redirect } = await import('next/navigation.js')
    let thrown: unknown
    try {
      redirect('/a;b?c=1')
    } catch (err) {
      thrown = err
    }
    expect(redirectTarget(thrown)).toBe('/a;b?c=1')
    expect(redirectTarget(new Error('boom'))).toBeNull()
    expect(redirectTarget(null)).toBeNull()
  })
})

/**
 * Flash messages: the framework-free cookie (edge-session/flash) and the Next part (createFlash +
 * sessionMiddleware({ flash })), run without a server through the testing kit's fakeBrowser.
 * The browser proof (shown once, not again on reload, across a redirect, both engines) is test/e2e/flash.test.ts.
 */
import { NextRequest } from 'next/server'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { memoryEngine } from '../src/engines/memory.js'
import { SessionTooLarge } from '../src/errors.js'
import { flashCookies, FLASH_LEVELS } from '../src/flash.js'
import { createFlash, createNextSession, FLASH_HEADER } from '../src/next/index.js'
import { createSessionStore } from '../src/store.js'
import { mintSessionCookie } from '../src/testing/index.js'

const browser = await vi.hoisted(async () => (await import('../src/testing/next-fakes.js')).fakeBrowser('http://app.test'))
vi.mock('next/headers', () => browser.nextHeaders)

const SECRET = 'flash test secret, at least 32 bytes long'
const { store, sessionMiddleware } = createNextSession<{ user?: string }>({ secret: SECRET, engine: memoryEngine() })
const flash = createFlash(store)
const middleware = sessionMiddleware({ protect: ['/account'], allow: async (s) => (await s.aget('user')) !== undefined, flash })

/** A page visit: the middleware, then the page's render with what the middleware forwarded. */
async function visit(path: string, headers: Record<string, string> = {}) {
  const response = await middleware(new NextRequest(browser.fetchRequest(path, { headers })))
  browser.receive(response)
  const setCookies = [...browser.sent]
  browser.request({ middleware: response })
  return { response, setCookies, messages: await flash.messages() }
}

beforeEach(() => browser.clearCookies())

describe('flashCookies (framework-free)', () => {
  const cookies = flashCookies(store.settings)

  it('round-trips messages through a signed cookie, and refuses forged, garbled or expired ones', async () => {
    const messages = FLASH_LEVELS.map((level) => ({ level, message: `a ${level} message, Zoë ☃` }))
    const cookie = await cookies.write(messages)
    expect(cookie).toMatchObject({ name: 'messages', path: '/', httpOnly: true, sameSite: 'lax' })
    expect(cookie.maxAge).toBeUndefined()
    expect(await cookies.read(cookie.value)).toEqual(messages)
    const other = flashCookies(createSessionStore({ secret: 'another secret of at least 32 bytes!!!' }).settings)
    expect(await other.read(cookie.value)).toEqual([])
    expect(await cookies.read('garbage')).toEqual([])
    expect(await cookies.read(undefined)).toEqual([])
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 3601_000)
    expect(await cookies.read(cookie.value)).toEqual([])
    vi.useRealTimers()
  })

  it('refuses, with SessionTooLarge, messages that would not fit in a cookie', async () => {
    const random = Array.from(crypto.getRandomValues(new Uint8Array(3000)), (b) => b.toString(16).padStart(2, '0')).join('')
    await expect(cookies.write([{ level: 'info', message: random }])).rejects.toBeInstanceOf(SessionTooLarge)
  })
})

describe('flash.add in a fetch server action (JS on): delivered in the action response itself', () => {
  const action = { 'next-action': '7f00aa' }

  it('keeps several messages in order; the re-render of this response shows them; the browser keeps nothing', async () => {
    browser.request({ headers: action })
    await flash.success('Saved')
    await flash.info('Two of them')
    expect(browser.sentCookies.at(-1)).toMatchObject({ name: 'messages', maxAge: 0 })
    expect(browser.cookies.has('messages')).toBe(false)
    // Next re-renders the page in this response (the action set a cookie): the page sees them.
    expect(await flash.messages()).toEqual([
      { level: 'success', message: 'Saved' },
      { level: 'info', message: 'Two of them' },
    ])
    expect((await visit('/')).messages).toEqual([])
  })

  it("after redirect(): the render Next fetches through the middleware shows them, and the browser's next visit does not", async () => {
    browser.request({ headers: action })
    await flash.warning('Check your e-mail')
    const cookie = browser.sentCookies.at(-1)!
    // Next forwards the action's cookies to the redirect target's render (its own fetch, through the middleware).
    const internal = new NextRequest('http://app.test/next-page', { headers: { cookie: `messages=${cookie.value}`, rsc: '1' } })
    const response = await middleware(internal)
    browser.request({ middleware: response })
    expect(await flash.messages()).toEqual([{ level: 'warning', message: 'Check your e-mail' }])
    expect((await visit('/next-page')).messages).toEqual([])
  })
})

describe('flash.add elsewhere (a route handler, a form posted without JS): consumed by the middleware', () => {
  it('differs from Django: consumed when delivered to the next page (the cookie deleted there), not when a template iterates; a reload shows nothing', async () => {
    browser.request()
    await flash.error('Payment failed')
    expect(browser.cookies.has('messages')).toBe(true)
    const first = await visit('/orders')
    expect(first.messages).toEqual([{ level: 'error', message: 'Payment failed' }])
    expect(first.setCookies).toEqual([expect.stringMatching(/^messages=;.*Max-Age=0/)])
    expect(first.response.headers.get('cache-control')).toBe('private, no-store')
    expect(browser.cookies.has('messages')).toBe(false)
    expect((await visit('/orders')).messages).toEqual([])
  })

  it('a prefetch neither shows nor consumes them', async () => {
    browser.request()
    await flash.info('Later')
    const prefetch = await visit('/orders', { 'next-router-prefetch': '1' })
    expect(prefetch.messages).toEqual([])
    expect(prefetch.setCookies).toEqual([])
    expect((await visit('/orders')).messages).toEqual([{ level: 'info', message: 'Later' }])
  })

  it('a visit sent to the login page keeps them for after sign-in', async () => {
    browser.request()
    await flash.info('Please sign in to continue')
    const refused = await visit('/account')
    // A redirect is not rendered: the messages wait, their cookie untouched.
    expect(refused.response.status).toBe(307)
    expect(refused.setCookies).toEqual([])
    expect(browser.cookies.has('messages')).toBe(true)
    browser.setCookie('sessionid', (await mintSessionCookie(store, { user: 'ada' })).sessionKey)
    expect((await visit('/account')).messages).toEqual([{ level: 'info', message: 'Please sign in to continue' }])
  })

  it('a POST (an action) leaves a pending cookie alone, and an action adds to what is pending', async () => {
    browser.request()
    await flash.info('First')
    const post = await middleware(new NextRequest(browser.fetchRequest('/orders', { method: 'POST' })))
    browser.receive(post)
    expect(browser.sent).toEqual([])
    browser.request({ middleware: post })
    await flash.success('Second')
    expect((await visit('/orders')).messages.map((m) => m.message)).toEqual(['First', 'Second'])
  })
})

describe('flash: nothing else gets through', () => {
  it("a forged x-edge-session-flash header is dropped by the middleware, and an unsigned one never read", async () => {
    const forged = await visit('/', { [FLASH_HEADER]: 'eyJ9:1:AAAA' })
    expect(forged.messages).toEqual([])
    browser.request({ headers: { [FLASH_HEADER]: '[{"level":"error","message":"forged"}]' } })
    expect(await flash.messages()).toEqual([])
  })

  it('refuses an unknown level or an empty message where it is added, keeping the earlier messages', async () => {
    browser.request()
    await flash.success('Kept')
    await expect(flash.add('fatal' as 'error', 'x')).rejects.toThrow(TypeError)
    await expect(flash.info('')).rejects.toThrow(TypeError)
    expect((await visit('/')).messages).toEqual([{ level: 'success', message: 'Kept' }])
  })

  it('a message too large for the cookie is an error at add, and the earlier ones stay', async () => {
    browser.request()
    await flash.info('Kept')
    const random = Array.from(crypto.getRandomValues(new Uint8Array(3000)), (b) => b.toString(16).padStart(2, '0')).join('')
    await expect(flash.info(random)).rejects.toBeInstanceOf(SessionTooLarge)
    await flash.info('After')
    expect((await visit('/')).messages.map((m) => m.message)).toEqual(['Kept', 'After'])
  })
})

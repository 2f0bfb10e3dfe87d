/**
 * Logout that logs out, in a real browser: /account/sessions on `next build` + `next start`, Debian's Chromium
 * through playwright-core, on the Upstash engine and on signed cookies with the Upstash revocation store, both on
 * real Redis behind the local Upstash REST server. It shares the demo's one browser build with the other suites.
 */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startUpstashServer, type UpstashServer } from '../../scripts/upstash-rest-server'
import { startRedis, type RedisHandle } from '../support/redis'
import { CHROMIUM, CHROMIUM_ARGS, haveChromium } from '../support/chromium'
import { buildApp, E2E_DIST_DIR, startApp, type AppServer } from '../support/next-server'

// The demo's one browser build, shared with the other suites (buildApp builds it once, under a lock).
const DIST_DIR = E2E_DIST_DIR
const COOKIE = 'sessionid'
/** The short absolute lifetime of the cap test's server: long enough to slide twice, short enough to wait out. */
const ABSOLUTE_AGE = 8
/** The cap test's idle timeout: it ends nothing before the cap, and makes the refresh interval a tenth of it, 2 s. */
const IDLE_AGE = 20
const FIREFOX_ON_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'
const SAFARI_ON_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1'

const engines: { name: string; env: Record<string, string> }[] = [
  { name: 'upstash', env: { SESSION_ENGINE: 'upstash' } },
  { name: 'signed cookie + revocation store', env: { SESSION_ENGINE: 'cookie', SESSION_REVOCATION: 'upstash' } },
]

let browser: Browser
let redis: RedisHandle | null = null
let rest: UpstashServer

beforeAll(async () => {
  if (!haveChromium) return
  redis = await startRedis()
  if (!redis) return
  rest = await startUpstashServer({ token: 'e2e-sessions-token', redisUrl: redis.url, port: 0 })
  const [, launched] = await Promise.all([buildApp({ distDir: DIST_DIR }), chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })])
  browser = launched
  // A cold build on a busy 2-core machine can take minutes.
}, 600_000)

afterAll(async () => {
  await browser?.close()
  await rest?.close()
  await redis?.stop()
})

describe.skipIf(!haveChromium).each(engines)('/account/sessions, $name', (engine) => {
  let server: AppServer | undefined
  const contexts: BrowserContext[] = []

  const upstashEnv = (): Record<string, string> => ({
    ...engine.env,
    UPSTASH_REDIS_REST_URL: rest.url,
    UPSTASH_REDIS_REST_TOKEN: rest.token,
    EDGE_SESSION_DEMO_TEST: '1',
  })

  beforeAll(async () => {
    if (!redis) return
    server = await startApp({ distDir: DIST_DIR, env: upstashEnv() })
  }, 120_000)

  afterAll(async () => {
    for (const context of contexts) await context.close()
    await server?.stop()
  })

  /** A signed-in "device": its own browser context (cookie jar) with its own User-Agent. */
  async function device(ctx: { skip: (note?: string) => void }, userAgent: string, on = server): Promise<{ context: BrowserContext; page: Page }> {
    if (!on) ctx.skip('Redis is not available here')
    const context = await browser.newContext({ baseURL: on!.url, userAgent })
    contexts.push(context)
    const page = await context.newPage()
    await page.goto('/login')
    await page.fill('input[name=username]', 'ada')
    await page.fill('input[name=password]', 'lovelace')
    await page.check('input[name=remember]')
    // The URL is the signal (as for the wrong-password test): a loaded machine can hold the page's load event
    // past the timeout while the signed-in page streams, and every later step waits for what it needs anyway.
    await Promise.all([page.waitForURL((url) => !url.pathname.startsWith('/login'), { waitUntil: 'commit' }), page.click('main button[type=submit]')])
    return { context, page }
  }

  async function rows(page: Page): Promise<{ label: string; current: boolean }[]> {
    await page.goto('/account/sessions')
    // The page streams in behind its loading state (Cache Components): wait for the table itself.
    await page.getByTestId('sessions').waitFor()
    const found = []
    for (const row of await page.getByTestId('session-row').all()) {
      found.push({ label: (await row.locator('td').first().textContent())!.trim(), current: (await row.getAttribute('data-current')) === 'yes' })
    }
    return found
  }

  async function landsOnLogin(page: Page): Promise<boolean> {
    await page.goto('/account')
    return new URL(page.url()).pathname === '/login'
  }

  it('lists both devices, marks this one, and B signing out A sends A to /login on its next navigation', async (ctx) => {
    const a = await device(ctx, FIREFOX_ON_LINUX)
    const b = await device(ctx, SAFARI_ON_IPHONE)
    const seen = await rows(b.page)
    expect(seen).toEqual([
      { label: 'Firefox on Linux', current: false },
      { label: 'Safari on iPhone (this device)', current: true },
    ])
    await Promise.all([b.page.waitForURL('**/account/sessions?did=ended-one'), b.page.getByTestId('end-one').click()])
    expect(await rows(b.page)).toEqual([{ label: 'Safari on iPhone (this device)', current: true }])
    expect(await landsOnLogin(a.page)).toBe(true)
    expect(await landsOnLogin(b.page)).toBe(false)
  })

  it('"Sign out other devices" ends the others and keeps this one', async (ctx) => {
    const a = await device(ctx, FIREFOX_ON_LINUX)
    const b = await device(ctx, SAFARI_ON_IPHONE)
    await b.page.goto('/account/sessions')
    await Promise.all([b.page.waitForURL('**/account/sessions?did=ended-others'), b.page.getByTestId('end-others').click()])
    expect(await landsOnLogin(a.page)).toBe(true)
    expect(await landsOnLogin(b.page)).toBe(false)
    expect(await rows(b.page)).toEqual([{ label: 'Safari on iPhone (this device)', current: true }])
  })

  it('"Sign out everywhere" ends every session, this one included', async (ctx) => {
    const a = await device(ctx, FIREFOX_ON_LINUX)
    const b = await device(ctx, SAFARI_ON_IPHONE)
    await b.page.goto('/account/sessions')
    await Promise.all([b.page.waitForURL('**/login'), b.page.getByTestId('end-all').click()])
    expect(await landsOnLogin(a.page)).toBe(true)
    expect(await landsOnLogin(b.page)).toBe(true)
  })

  it('a signed-in page view asks the store at least once (never skips the check) and at most twice (gate + page)', async (ctx) => {
    const a = await device(ctx, FIREFOX_ON_LINUX)
    // The login's writes count as a sliding refresh, so these visits only read.
    await a.page.goto('/account')
    await a.page.getByTestId('user').waitFor()
    // No page left open: its link prefetches would land in the count.
    await a.page.waitForLoadState('networkidle')
    await a.page.close()
    // The document alone, with the browser's cookie: the gate in the middleware, then the page's render.
    rest.stats.reset()
    const response = await a.context.request.get('/account')
    expect(response.status()).toBe(200)
    expect(await response.text()).toContain('Ada Lovelace')
    const document = rest.stats.total
    // In the browser, the page's links to protected pages are prefetched too, and each prefetch is gated.
    rest.stats.reset()
    const page = await a.context.newPage()
    await page.goto('/account')
    await page.getByTestId('user').waitFor()
    await page.waitForLoadState('networkidle')
    console.info(`[sessions e2e] ${engine.name}: /account costs ${document} Upstash requests; ${rest.stats.total} with the browser's prefetches`)
    expect(document).toBeGreaterThanOrEqual(1)
    expect(document).toBeLessThanOrEqual(2)
  })

  it('"Sign out this device" is a logout', async (ctx) => {
    const a = await device(ctx, FIREFOX_ON_LINUX)
    await a.page.goto('/account/sessions')
    await Promise.all([a.page.waitForURL('**/login'), a.page.getByTestId('end-this').click()])
    expect(await landsOnLogin(a.page)).toBe(true)
  })

  it('ASVS 3.3.1: a copy of the session cookie replayed after logout is refused', async (ctx) => {
    const a = await device(ctx, FIREFOX_ON_LINUX)
    const copied = (await a.context.cookies()).find((cookie) => cookie.name === COOKIE)!
    await Promise.all([a.page.waitForURL('**/login**'), a.page.click('text=Log out')])
    await a.context.addCookies([copied])
    expect(await landsOnLogin(a.page)).toBe(true)
    // The middleware found the copy ended and deleted it.
    expect((await a.context.cookies()).find((cookie) => cookie.name === COOKIE)).toBeUndefined()
  })

  it(
    'ASVS 3.3.2: the absolute lifetime ends a "remember me" session the middleware slid; the browser drops its cookie then, and a copy is refused',
    async (ctx) => {
      if (!server) ctx.skip('Redis is not available here')
      const env = { ...upstashEnv(), SESSION_ABSOLUTE_AGE: String(ABSOLUTE_AGE), SESSION_IDLE_AGE: String(IDLE_AGE) }
      const capped = await startApp({ distDir: DIST_DIR, env })
      try {
        const a = await device(ctx, FIREFOX_ON_LINUX, capped)
        // The lifetime started during the login, so no later than now.
        const signedInBy = Date.now()
        // Past the refresh interval (2 s) counted from the login's last write, which counts as a refresh.
        await a.page.waitForTimeout(2500)
        expect(await landsOnLogin(a.page)).toBe(false)
        // The middleware's sliding refresh re-saved this "remember me" session (30 days) and stamped when it did:
        // an interval or more after the login's writes, the last of which stamped it too.
        await a.page.getByTestId('session-data').waitFor()
        const data = JSON.parse((await a.page.getByTestId('session-data').textContent())!) as Record<string, unknown>
        expect(data._session_expiry).toBe(30 * 24 * 60 * 60)
        expect((data._session_refreshed as number) - (data._session_started as number)).toBeGreaterThanOrEqual(2)
        // The slid cookie's Max-Age is what is left of the cap, not the 30 days asked for (a second of slack for
        // the response's way to the browser, which counts Max-Age from receipt).
        const slid = (await a.context.cookies()).find((cookie) => cookie.name === COOKIE)!
        expect(slid.expires).toBeLessThan((data._session_started as number) + ABSOLUTE_AGE + 1)
        await a.page.waitForTimeout(Math.max(0, signedInBy + (ABSOLUTE_AGE + 1.5) * 1000 - Date.now()))
        expect((await a.context.cookies()).find((cookie) => cookie.name === COOKIE)).toBeUndefined()
        // A copy taken before the cap, replayed as a browser-session cookie, is refused by the server.
        await a.context.addCookies([{ ...slid, expires: -1 }])
        expect(await landsOnLogin(a.page)).toBe(true)
      } finally {
        await capped.stop()
      }
    },
    120_000,
  )
})

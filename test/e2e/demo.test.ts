/**
 * The demo app in a real browser: `next build` + `next start` on 127.0.0.1, Debian's Chromium
 * through playwright-core. One build; one server per engine (the engine is read at run time).
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page, type Response } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startUpstashServer } from '../../scripts/upstash-rest-server'
import { startRedis } from '../support/redis'
import { buildApp, E2E_DIST_DIR, ROOT, startApp, type AppServer } from '../support/next-server'

const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
const COOKIE = 'sessionid'
const THIRTY_DAYS = 30 * 24 * 60 * 60

/** An engine run: the server environment it needs, and how to release what it started. `null` = unavailable here (skips; CI fails first). */
interface EngineSetup {
  env: Record<string, string>
  stop(): Promise<void>
}
interface EngineCase {
  name: string
  setup(): Promise<EngineSetup | null>
}

const engines: EngineCase[] = [
  { name: 'cookie', setup: async () => ({ env: { SESSION_ENGINE: 'cookie' }, stop: async () => {} }) },
  {
    name: 'upstash',
    async setup() {
      const redis = await startRedis()
      if (!redis) return null
      const rest = await startUpstashServer({ token: 'e2e-token', redisUrl: redis.url, port: 0 })
      return {
        env: { SESSION_ENGINE: 'upstash', UPSTASH_REDIS_REST_URL: rest.url, UPSTASH_REDIS_REST_TOKEN: rest.token },
        async stop() {
          await rest.close()
          await redis.stop()
        },
      }
    },
  },
]

/** Never downloaded: Debian's package, which .ci/run installs. Missing under CI=true is a failure, elsewhere a skip. */
const haveChromium = existsSync(CHROMIUM)
if (!haveChromium) {
  if (process.env.CI === 'true') throw new Error(`CI=true and ${CHROMIUM} is missing: install it (apt-get install -y chromium).`)
  console.warn(`[skip] browser suite: ${CHROMIUM} is missing. Install it with: apt-get install -y chromium`)
}

let browser: Browser

beforeAll(async () => {
  if (!haveChromium) return
  // Build and launch concurrently: the build dominates.
  const [, launched] = await Promise.all([buildApp(), chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })])
  browser = launched
  // A cold webpack build on a busy 2-core machine can take minutes.
}, 600_000)

afterAll(async () => {
  await browser?.close()
})

describe.skipIf(!haveChromium)('the build', () => {
  it('puts middleware.ts on the edge runtime', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, E2E_DIST_DIR, 'server/middleware-manifest.json'), 'utf8'))
    const functions = JSON.parse(readFileSync(join(ROOT, E2E_DIST_DIR, 'server/functions-config-manifest.json'), 'utf8'))
    expect(Object.keys(manifest.middleware)).toEqual(['/'])
    expect(manifest.middleware['/'].name).toBe('middleware')
    // A Node proxy would be listed here instead, as "/_middleware" with runtime "nodejs".
    expect(functions.functions?.['/_middleware']).toBeUndefined()
  })
})

describe.skipIf(!haveChromium).each(engines)('demo app, $name engine', (engine) => {
  let server: AppServer | undefined
  let setup: EngineSetup | null = null
  let context: BrowserContext
  let page: Page
  /** Every response the page saw, to assert on statuses and raw Set-Cookie headers. */
  let responses: Response[] = []

  beforeAll(async () => {
    setup = await engine.setup()
    if (!setup) return
    await buildApp()
    server = await startApp({ env: { ...setup.env, EDGE_SESSION_DEMO_TEST: '1' } })
  })

  afterAll(async () => {
    await server?.stop()
    await setup?.stop()
  })

  async function fresh(ctx: { skip: (note?: string) => void }): Promise<void> {
    if (!server) ctx.skip(`${engine.name} engine: its service is not available here`)
    await context?.close()
    context = await browser.newContext({ baseURL: server!.url })
    page = await context.newPage()
    responses = []
    page.on('response', (response) => responses.push(response))
  }

  async function sessionCookie() {
    return (await context.cookies()).find((c) => c.name === COOKIE)
  }

  async function login(options: { remember?: boolean; next?: string } = {}): Promise<void> {
    await page.goto(options.next === undefined ? '/login' : `/login?next=${encodeURIComponent(options.next)}`)
    await page.fill('input[name=username]', 'ada')
    await page.fill('input[name=password]', 'lovelace')
    if (options.remember) await page.check('input[name=remember]')
    await Promise.all([page.waitForURL((url) => !url.pathname.startsWith('/login')), page.click('main button[type=submit]')])
  }

  /** The raw Set-Cookie lines for the session cookie, in the order the page received them. */
  async function setCookieLines(): Promise<string[]> {
    const lines: string[] = []
    for (const response of responses) {
      for (const { name, value } of await response.headersArray()) {
        if (name.toLowerCase() === 'set-cookie' && value.startsWith(`${COOKIE}=`)) lines.push(value)
      }
    }
    return lines
  }

  function serverErrors(): string[] {
    return responses.filter((r) => r.status() >= 500).map((r) => `${r.status()} ${r.url()}`)
  }

  it('sends an anonymous visitor of /account to /login?next=/account, from the edge middleware', async (ctx) => {
    await fresh(ctx)
    const first = await page.request.get('/account', { maxRedirects: 0 })
    expect(first.status()).toBe(307)
    expect(first.headers()['location']).toBe('/login?next=/account')
    expect(first.headers()['x-middleware-runtime']).toBe('edge')
    expect(first.headers()['vary']).toMatch(/cookie/i)

    await page.goto('/account')
    const url = new URL(page.url())
    expect(url.pathname).toBe('/login')
    expect(url.searchParams.get('next')).toBe('/account')
    await expect(page.locator('input[name=next]').inputValue()).resolves.toBe('/account')
  })

  it.for(['https://evil.example/steal', '//evil.example/steal', '/\\evil.example/steal'])('ignores an off-site next (%s)', async (next, ctx) => {
    await fresh(ctx)
    await login({ next })
    const url = new URL(page.url())
    expect(url.origin).toBe(server!.url)
    expect(url.pathname).toBe('/account')
  })

  it('changes the cookie value at login; the cookie is HttpOnly, SameSite=Lax, Path=/ and ends at browser close without "remember me"', async (ctx) => {
    await fresh(ctx)
    // Plant a pre-login session: the cookie check's first step stores a value, and we stop before its second.
    await page.goto('/cookie-check')
    await Promise.all([page.waitForURL((url) => url.searchParams.get('step') === 'verify'), page.click('main button[type=submit]')])
    const before = (await sessionCookie())?.value
    expect(before).toBeTruthy()

    responses = []
    await login()
    const after = await sessionCookie()
    expect(after).toBeDefined()
    expect(after!.value).not.toBe('')
    expect(after!.value).not.toBe(before)
    expect(after!.httpOnly).toBe(true)
    expect(after!.sameSite).toBe('Lax')
    expect(after!.path).toBe('/')
    expect(after!.expires).toBe(-1) // a browser-session cookie

    const lines = await setCookieLines()
    const final = lines.at(-1)!
    expect(final).toMatch(/;\s*HttpOnly/i)
    expect(final).toMatch(/;\s*SameSite=Lax/i)
    expect(final).toMatch(/;\s*Path=\/(;|$)/)
    expect(final).not.toMatch(/Max-Age/i)
    expect(final).not.toMatch(/Expires/i)

    // The planted value no longer signs anyone in.
    await context.addCookies([{ ...after!, value: before! }])
    await page.goto('/account')
    expect(new URL(page.url()).pathname).toBe('/login')
  })

  it('keeps a "remember me" session for 30 days: Max-Age and Expires', async (ctx) => {
    await fresh(ctx)
    responses = []
    await login({ remember: true })
    const final = (await setCookieLines()).at(-1)!
    const maxAge = Number(/Max-Age=(\d+)/i.exec(final)?.[1])
    expect(maxAge).toBeGreaterThan(THIRTY_DAYS - 60)
    expect(maxAge).toBeLessThanOrEqual(THIRTY_DAYS)
    const cookie = (await sessionCookie())!
    const secondsLeft = cookie.expires - Date.now() / 1000
    expect(secondsLeft).toBeGreaterThan(THIRTY_DAYS - 120)
    expect(secondsLeft).toBeLessThanOrEqual(THIRTY_DAYS + 5)
  })

  it('shows the signed-in user and the expiry on /account', async (ctx) => {
    await fresh(ctx)
    await login({ remember: true })
    await page.goto('/account')
    await expect(page.getByTestId('user').textContent()).resolves.toBe('Ada Lovelace (ada)')
    await expect(page.getByTestId('browser-close').textContent()).resolves.toBe('no')
    await expect(page.getByTestId('expiry-age').textContent()).resolves.toBe(`${THIRTY_DAYS} seconds`)
    await expect(page.getByTestId('nav-user').textContent()).resolves.toBe('Ada Lovelace')

    await login({ remember: false })
    await page.goto('/account')
    await expect(page.getByTestId('browser-close').textContent()).resolves.toBe('yes')
    expect(serverErrors()).toEqual([])
  })

  it('keeps a preference across requests and a reload', async (ctx) => {
    await fresh(ctx)
    await login()
    await page.goto('/preferences')
    await expect(page.getByTestId('fav-color').textContent()).resolves.toBe('not set')
    await page.selectOption('select[name=fav_color]', 'purple')
    await Promise.all([page.waitForURL('**/preferences?saved=1'), page.click('main button[type=submit]')])
    await expect(page.getByTestId('fav-color').textContent()).resolves.toBe('purple')
    await page.reload()
    await expect(page.getByTestId('fav-color').textContent()).resolves.toBe('purple')
    await page.goto('/account')
    await page.goto('/preferences')
    await expect(page.getByTestId('fav-color').textContent()).resolves.toBe('purple')
    // Still signed in: the write kept the user.
    await expect(page.getByTestId('nav-user').textContent()).resolves.toBe('Ada Lovelace')
  })

  it('reports that cookies work with the two-request test-cookie flow, which removes its test value', async (ctx) => {
    await fresh(ctx)
    await page.goto('/cookie-check')
    await Promise.all([page.waitForURL((url) => url.searchParams.get('step') === 'verify'), page.click('main button[type=submit]')])
    expect((await sessionCookie())?.value).toBeTruthy()
    await Promise.all([page.waitForURL((url) => url.searchParams.has('result')), page.click('main button[type=submit]')])
    expect(new URL(page.url()).host).toBe(new URL(server!.url).host)
    expect(new URL(page.url()).searchParams.get('result')).toBe('worked')
    await expect(page.getByTestId('cookie-result').textContent()).resolves.toContain('Cookies work')
    // adeleteTestCookie() was committed by the route handler: asking again, without step one, finds nothing.
    await page.goto('/cookie-check?step=verify')
    await Promise.all([page.waitForURL((url) => url.searchParams.has('result')), page.click('main button[type=submit]')])
    expect(new URL(page.url()).searchParams.get('result')).toBe('failed')
    expect(serverErrors()).toEqual([])
  })

  it('logs out: the cookie is removed and /account is gated again', async (ctx) => {
    await fresh(ctx)
    await login({ remember: true })
    expect(await sessionCookie()).toBeDefined()
    await Promise.all([page.waitForURL('**/login'), page.click('text=Log out')])
    expect(await sessionCookie()).toBeUndefined()
    await page.goto('/account')
    expect(new URL(page.url()).pathname).toBe('/login')
    expect(serverErrors()).toEqual([])
  })

  it(
    engine.name === 'upstash'
      ? 'revokes at logout: a copy of the session cookie replayed after logout is not signed in'
      : 'cannot revoke (documented): a copy of the signed cookie replayed after logout is still signed in until it expires',
    async (ctx) => {
      await fresh(ctx)
      await login({ remember: true })
      const copied = (await sessionCookie())!
      await Promise.all([page.waitForURL('**/login'), page.click('text=Log out')])
      expect(await sessionCookie()).toBeUndefined()

      await context.addCookies([copied])
      await page.goto('/account')
      if (engine.name === 'upstash') {
        expect(new URL(page.url()).pathname).toBe('/login')
        // The middleware loaded the key, found no record, and deleted the stale cookie.
        expect(await sessionCookie()).toBeUndefined()
      } else {
        expect(new URL(page.url()).pathname).toBe('/account')
        await expect(page.getByTestId('user').textContent()).resolves.toBe('Ada Lovelace (ada)')
      }
      expect(serverErrors()).toEqual([])
    },
  )

  it('treats a tampered cookie as anonymous, without a 500', async (ctx) => {
    await fresh(ctx)
    await login({ remember: true })
    const cookie = (await sessionCookie())!
    const value = cookie.value
    const i = Math.floor(value.length / 2)
    const tampered = value.slice(0, i) + (value[i] === 'a' ? 'b' : 'a') + value.slice(i + 1)
    await context.addCookies([{ ...cookie, value: tampered }])

    await page.goto('/account')
    expect(new URL(page.url()).pathname).toBe('/login')
    await page.goto('/')
    await expect(page.locator('header').textContent()).resolves.toContain('Log in')
    expect(serverErrors()).toEqual([])
    // The middleware read it on /account, found nothing, and deleted it (behaviour 136).
    expect(await sessionCookie()).toBeUndefined()
  })
})

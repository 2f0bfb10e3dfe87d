/**
 * Flash messages in a real browser, on both engines: the demo's login, preferences and logout add one,
 * and the page after the redirect shows it once — not again on reload, not in another tab; a route handler's
 * message waits in its cookie for the next visit. Also starts a browser signed in with mintSessionCookie's storageState (the testing kit).
 * It shares the demo's one browser build with the other suites (buildApp builds it once, under a lock).
 */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cookieEngine } from '../../src/engines/cookie'
import { upstashEngine } from '../../src/engines/upstash'
import { createSessionStore } from '../../src/store'
import { mintSessionCookie } from '../../src/testing/mint'
import { CHROMIUM, CHROMIUM_ARGS, haveChromium } from '../support/chromium'
import { demoEngines, type DemoEngineSetup } from '../support/demo-engines'
import { buildApp, E2E_DIST_DIR, startApp, TEST_SECRET, type AppServer } from '../support/next-server'

// The demo's one browser build, shared with the other suites (buildApp builds it once, under a lock).
const DIST_DIR = E2E_DIST_DIR
const SIGNED_IN = /^Signed in\./
const SAVED = /^Saved to the session/
const SIGNED_OUT = /^You are signed out/

let browser: Browser

beforeAll(async () => {
  if (!haveChromium) return
  const [, launched] = await Promise.all([buildApp({ distDir: DIST_DIR }), chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })])
  browser = launched
}, 900_000)

afterAll(async () => {
  await browser?.close()
})

/** The flash messages on the page once it has finished loading and streaming (a client navigation included). */
async function shown(page: Page): Promise<string[]> {
  await page.waitForLoadState('networkidle')
  return page.locator('[data-testid=flash] li').allTextContents()
}

describe.skipIf(!haveChromium).each(demoEngines)('flash messages, $name engine', (engineCase) => {
  let server: AppServer | undefined
  let setup: DemoEngineSetup | null = null
  const contexts: BrowserContext[] = []

  beforeAll(async () => {
    setup = await engineCase.setup()
    if (!setup) return
    await buildApp({ distDir: DIST_DIR })
    server = await startApp({ distDir: DIST_DIR, env: setup.env })
  }, 900_000)

  afterAll(async () => {
    for (const context of contexts) await context.close()
    await server?.stop()
    await setup?.stop()
  })

  async function newPage(ctx: { skip: (note?: string) => void }): Promise<Page> {
    if (!server) ctx.skip(`${engineCase.name} engine: its service is not available here`)
    const context = await browser.newContext({ baseURL: server!.url })
    contexts.push(context)
    return context.newPage()
  }

  async function login(page: Page): Promise<void> {
    await page.goto('/login?next=/preferences')
    await page.fill('input[name=username]', 'ada')
    await page.fill('input[name=password]', 'lovelace')
    await Promise.all([page.waitForURL((url) => url.pathname === '/preferences'), page.click('main button[type=submit]')])
  }

  async function savePreference(page: Page, color: string): Promise<void> {
    await page.selectOption('select[name=fav_color]', color)
    await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click('main button[type=submit]')])
    await page.getByTestId('fav-color').filter({ hasText: color }).waitFor()
  }

  it('login → redirect: shown once on the landing page, not again on reload or the next visit', async (ctx) => {
    const page = await newPage(ctx)
    await login(page)
    const messages = await shown(page)
    expect(messages).toHaveLength(1)
    expect(messages[0]).toMatch(SIGNED_IN)
    await page.reload()
    expect(await shown(page)).toEqual([])
    await page.goto('/account')
    expect(await shown(page)).toEqual([])
    // The browser holds no pending messages.
    expect((await page.context().cookies()).map((c) => c.name)).not.toContain('messages')
  })

  it('saving a preference twice: each save shows its message once, across the redirect', async (ctx) => {
    const page = await newPage(ctx)
    await login(page)
    await savePreference(page, 'purple')
    const first = await shown(page)
    expect(first).toHaveLength(1)
    expect(first[0]).toMatch(SAVED)
    await savePreference(page, 'green')
    expect(await shown(page)).toHaveLength(1)
    await page.reload()
    expect(await shown(page)).toEqual([])
    await expect(page.getByTestId('fav-color').textContent()).resolves.toBe('green')
  })

  it("another tab's navigation does not show a message that belonged to this tab", async (ctx) => {
    const page = await newPage(ctx)
    await login(page)
    const other = await page.context().newPage()
    await other.goto('/account')
    expect(await shown(other)).toEqual([])
    await savePreference(page, 'blue')
    expect(await shown(page)).toHaveLength(1)
    await other.goto('/preferences')
    expect(await shown(other)).toEqual([])
  })

  it('from a route handler answered with 303: kept in its cookie, shown once on the next page by the middleware', async (ctx) => {
    const page = await newPage(ctx)
    await page.goto('/cookie-check')
    await Promise.all([page.waitForURL('**/cookie-check?step=verify'), page.click('main button[type=submit]')])
    await Promise.all([page.waitForURL('**/cookie-check?result=worked'), page.click('main button[type=submit]')])
    const messages = await shown(page)
    expect(messages).toEqual(['The test cookie came back: this browser keeps cookies.'])
    // The middleware deleted the cookie on the page's own response.
    expect((await page.context().cookies()).map((c) => c.name)).not.toContain('messages')
    await page.reload()
    expect(await shown(page)).toEqual([])
  })

  it("logout with JavaScript: the login page shows it once", async (ctx) => {
    const page = await newPage(ctx)
    await login(page)
    await Promise.all([page.waitForURL('**/login'), page.click('text=Log out')])
    const messages = await shown(page)
    expect(messages).toHaveLength(1)
    expect(messages[0]).toMatch(SIGNED_OUT)
    await page.reload()
    expect(await shown(page)).toEqual([])
  })

  it('the typed-session page reads the same session through a schema (withSchema + valibot)', async (ctx) => {
    const page = await newPage(ctx)
    await login(page)
    await savePreference(page, 'red')
    await page.goto('/typed-session')
    await expect(page.getByTestId('typed-user').textContent()).resolves.toBe('Ada Lovelace (ada)')
    await expect(page.getByTestId('typed-color').textContent()).resolves.toBe('red')
  })

  it("testing kit: mintSessionCookie's storageState starts the browser signed in, no login form", async (ctx) => {
    if (!server) ctx.skip(`${engineCase.name} engine: its service is not available here`)
    const { env } = setup!
    // The server's own engine, so the minted session is one the demo loads.
    const engine =
      env.SESSION_ENGINE === 'upstash' ? upstashEngine({ redis: { url: env.UPSTASH_REDIS_REST_URL!, token: env.UPSTASH_REDIS_REST_TOKEN! } }) : cookieEngine()
    const store = createSessionStore<{ user?: { username: string; name: string } }>({ secret: TEST_SECRET, engine })
    const { storageState } = await mintSessionCookie(store, { user: { username: 'ada', name: 'Ada Lovelace' } }, { url: server!.url })
    const context = await browser.newContext({ baseURL: server!.url, storageState })
    contexts.push(context)
    const page = await context.newPage()
    await page.goto('/account')
    expect(new URL(page.url()).pathname).toBe('/account')
    await expect(page.getByTestId('nav-user').textContent()).resolves.toBe('Ada Lovelace')
  })
})

/**
 * Throttled sliding refresh (src/core/refresh.ts through the middleware): a visit re-issues the session only
 * when the last refresh is `interval` seconds old. The clock is set, never waited on.
 */
import { NextRequest } from 'next/server'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { EngineFactory } from '../src/core/engine.js'
import { REFRESHED_KEY, checkSlidingRefresh, refreshInterval } from '../src/core/refresh.js'
import { cookieEngine } from '../src/engines/cookie.js'
import { memoryEngine } from '../src/engines/memory.js'
import { withSnapshot } from '../src/snapshot/index.js'
import { SessionConfigError } from '../src/errors.js'
import { createNextSession, type SessionMiddlewareOptions } from '../src/next/index.js'
import type { SessionLifetime } from '../src/core/lifetime.js'

const browser = await vi.hoisted(async () => (await import('../src/testing/next-fakes.js')).fakeBrowser('http://app.test'))
vi.mock('next/headers', () => browser.nextHeaders)

const SECRET = 'refresh-test-secret-refresh-test-secret-0123'
const T0 = Date.parse('2026-03-01T12:00:00Z')
type Data = { user?: string; color?: string }

function setup(slidingRefresh: SessionMiddlewareOptions<Data>['slidingRefresh'], engine: EngineFactory = cookieEngine(), lifetime?: SessionLifetime) {
  const next = createNextSession<Data>({ secret: SECRET, engine, ...(lifetime ? { lifetime } : {}) })
  const middleware = next.sessionMiddleware({ protect: ['/account'], allow: async (s) => (await s.aget('user')) !== undefined, slidingRefresh })
  /** One GET as a browser makes it: sends its cookie, keeps whatever cookie comes back. */
  const browser = { cookie: '' }
  const visit = async (atSeconds: number, path = '/account') => {
    vi.setSystemTime(T0 + atSeconds * 1000)
    const response = await middleware(new NextRequest(`http://app.test${path}`, { headers: { cookie: `sessionid=${browser.cookie}` } }))
    const set = response.headers.get('set-cookie')
    const value = set && /^sessionid=([^;]*)/.exec(set)![1]!
    if (value) browser.cookie = value
    return { reissued: set !== null, maxAge: set ? Number(/Max-Age=(\d+)/i.exec(set)?.[1]) : undefined, status: response.status }
  }
  const signIn = async () => {
    vi.setSystemTime(T0)
    const session = next.store.open()
    await session.aset('user', 'ada')
    await session.asave()
    browser.cookie = session.sessionKey!
  }
  return { ...next, middleware, visit, signIn, browser }
}

beforeEach(() => vi.useFakeTimers({ toFake: ['Date'] }))
afterEach(() => vi.useRealTimers())

describe.each([
  ['cookie', () => cookieEngine()],
  ['memory', () => memoryEngine()],
] as const)('throttled sliding refresh, %s engine', (_name, engine) => {
  it('re-issues on the first visit after sign-in, then not again until the interval has passed, exactly', async () => {
    const app = setup({ interval: 600 }, engine())
    await app.signIn()
    expect((await app.visit(0)).reissued).toBe(true)
    expect((await app.visit(1)).reissued).toBe(false)
    expect((await app.visit(599)).reissued).toBe(false)
    const due = await app.visit(600)
    expect(due.reissued).toBe(true)
    expect(due.maxAge).toBe(1_209_600)
    // Counted from the new refresh, not from the first.
    expect((await app.visit(1199)).reissued).toBe(false)
    expect((await app.visit(1200)).reissued).toBe(true)
  })

  it('stores the refresh time in the session, in whole seconds', async () => {
    const app = setup({ interval: 600 }, engine())
    await app.signIn()
    await app.visit(42.9)
    expect(await app.store.open(app.browser.cookie).aget(REFRESHED_KEY as 'user')).toBe(Math.floor(T0 / 1000) + 42)
  })

  it('interval 0 re-issues on every visit (Django SESSION_SAVE_EVERY_REQUEST)', async () => {
    const app = setup({ interval: 0 }, engine())
    await app.signIn()
    for (const t of [0, 0, 1, 1]) expect((await app.visit(t)).reissued).toBe(true)
  })

  it('a refresh stamp from the future (clock stepped back) is due at once', async () => {
    const app = setup({ interval: 600 }, engine())
    await app.signIn()
    await app.visit(1000)
    expect((await app.visit(500)).reissued).toBe(true)
  })
})

describe('default interval', () => {
  it('is a tenth of the session age, or of the idle timeout when shorter', () => {
    expect(refreshInterval({}, 1_209_600, undefined)).toBe(120_960)
    expect(refreshInterval({}, 1_209_600, 1800)).toBe(180)
    expect(refreshInterval({}, 60, 1800)).toBe(6)
    expect(refreshInterval({}, 5, undefined)).toBe(1)
    expect(refreshInterval({ interval: 0 }, 1_209_600, 1800)).toBe(0)
  })

  it("is at most the engine's refreshWithin (a snapshot: half its maxAge); an explicit interval wins", () => {
    expect(refreshInterval({ within: 15 }, 1_209_600, undefined)).toBe(15)
    expect(refreshInterval({ within: 500 }, 60, 1800)).toBe(6)
    expect(refreshInterval({ interval: 600, within: 15 }, 1_209_600, undefined)).toBe(600)
  })

  it('`true` on a snapshot store re-issues once half the snapshot\'s maxAge has passed, so the snapshot stays fresh', async () => {
    const app = setup(true, withSnapshot(memoryEngine(), { maxAge: 30 }))
    expect(app.store.engine.refreshWithin).toBe(15)
    await app.signIn()
    await app.visit(0)
    expect((await app.visit(14)).reissued).toBe(false)
    const due = await app.visit(15)
    expect(due.reissued).toBe(true)
    // The re-issued cookie carries a fresh snapshot (`<key>.<snapshot>`).
    expect(app.browser.cookie).toContain('.')
    expect((await app.visit(29)).reissued).toBe(false)
    expect(withSnapshot(memoryEngine(), { maxAge: 1 })(app.store.settings).refreshWithin).toBe(1)
    // Snapshots off: the store as it is, no hint.
    expect(withSnapshot(memoryEngine(), { maxAge: 0 })(app.store.settings).refreshWithin).toBeUndefined()
  })

  it('`true` uses it: no re-issue 1 s before a tenth of two weeks, one at it', async () => {
    const app = setup(true)
    await app.signIn()
    await app.visit(0)
    expect((await app.visit(120_959)).reissued).toBe(false)
    expect((await app.visit(120_960)).reissued).toBe(true)
  })

  it("follows a session's own shorter expiry (asetExpiry)", async () => {
    const app = setup(true)
    vi.setSystemTime(T0)
    const session = app.store.open()
    await session.aset('user', 'ada')
    await session.asetExpiry(1000)
    await session.asave()
    app.browser.cookie = session.sessionKey!
    await app.visit(0)
    expect((await app.visit(99)).reissued).toBe(false)
    const due = await app.visit(100)
    expect(due.reissued).toBe(true)
    expect(due.maxAge).toBe(1000)
  })
})

describe('composes with the lifetime limits (src/core/lifetime.ts)', () => {
  it('idle timeout: refreshes every tenth of it; a session ends `idle` after its last refresh, whatever the visits in between', async () => {
    const app = setup(true, cookieEngine(), { idle: 1800 })
    await app.signIn()
    expect((await app.visit(0)).reissued).toBe(true)
    // Visits within the interval do not extend it...
    expect((await app.visit(179)).reissued).toBe(false)
    // ...so 1800 s after the last refresh the session is over, although the last visit was 1621 s ago:
    // the idle precision is the refresh interval.
    const after = await app.visit(1800)
    expect(after.status).toBe(307)
  })

  it("idle timeout: each re-issued cookie's Max-Age is the idle timeout, the expiry its save wrote", async () => {
    const app = setup(true, cookieEngine(), { idle: 1800 })
    await app.signIn()
    expect((await app.visit(0)).maxAge).toBe(1800)
    expect((await app.visit(180)).maxAge).toBe(1800)
  })

  it('idle timeout: a visit at each interval keeps the session alive well past the timeout', async () => {
    const app = setup(true, cookieEngine(), { idle: 1800 })
    await app.signIn()
    for (let t = 0; t <= 5400; t += 180) expect((await app.visit(t)).status).toBe(200)
  })

  it('absolute lifetime: a refresh never extends past it, and the session ends at it however active', async () => {
    const app = setup({ interval: 600 }, cookieEngine(), { absolute: 3600 })
    await app.signIn()
    await app.visit(0)
    const late = await app.visit(3000)
    expect(late.reissued).toBe(true)
    // The browser keeps the cookie no longer than the server accepts it.
    expect(late.maxAge).toBe(600)
    expect((await app.visit(3599)).status).toBe(200)
    expect((await app.visit(3600)).status).toBe(307)
  })
})

describe.each([
  ['cookie', () => cookieEngine()],
  ['memory', () => memoryEngine()],
] as const)('a refresh never undoes a write, %s engine', (_name, engine) => {
  it("an action's write is not undone by a refresh of a page requested before it and answered after it", async () => {
    const app = setup({ interval: 600 }, engine())
    browser.clearCookies()
    // The login action (fakeBrowser: each request() is one request, keeping what the responses set).
    vi.setSystemTime(T0)
    browser.request()
    await (await app.getSession()).aset('user', 'ada')
    // The router prefetches the links of the page it lands on. Next strips the prefetch headers before the
    // middleware, so to it this is a GET visit of a protected page, carrying the cookie the login set.
    vi.setSystemTime(T0 + 1000)
    const prefetch = browser.fetchRequest('/account')
    // Before that prefetch is answered, another action writes; its response reaches the browser first.
    vi.setSystemTime(T0 + 2000)
    browser.request()
    await (await app.getSession()).aset('color', 'blue')
    browser.receive(await app.middleware(new NextRequest(prefetch)))
    const session = app.store.open(browser.cookies.get('sessionid'))
    expect(await session.aget('color')).toBe('blue')
    expect(await session.aget('user')).toBe('ada')
    // Not due: the login's write counts as a refresh.
    expect(browser.sent).toEqual([])
  })

  it('an action stamps its write as a refresh, in the same write: the next refresh is due an interval later', async () => {
    const app = setup({ interval: 600 }, engine())
    browser.clearCookies()
    vi.setSystemTime(T0)
    browser.request()
    await (await app.getSession()).aset('user', 'ada')
    expect(browser.sent).toHaveLength(1)
    app.browser.cookie = browser.cookies.get('sessionid')!
    expect(await app.store.open(app.browser.cookie).aget(REFRESHED_KEY as 'user')).toBe(Math.floor(T0 / 1000))
    expect((await app.visit(599)).reissued).toBe(false)
    expect((await app.visit(600)).reissued).toBe(true)
  })

  it('a change that changes nothing writes nothing, stamp included', async () => {
    const app = setup({ interval: 600 }, engine())
    browser.clearCookies()
    vi.setSystemTime(T0)
    browser.request()
    await (await app.getSession()).aset('user', 'ada')
    vi.setSystemTime(T0 + 5000)
    browser.request()
    await (await app.getSession()).apop('color', undefined)
    expect(browser.sent).toEqual([])
  })
})

describe('slidingRefresh option', () => {
  it('refuses anything but true, false or { interval: whole seconds ≥ 0 }, naming the option', () => {
    for (const bad of [{ interval: -1 }, { interval: 1.5 }, { interval: '60' }, { every: 60 }, 'yes', 1, null]) {
      expect(() => checkSlidingRefresh(bad)).toThrow(SessionConfigError)
      expect(() => checkSlidingRefresh(bad)).toThrow(/slidingRefresh/)
    }
    expect(checkSlidingRefresh(undefined)).toBeNull()
    expect(checkSlidingRefresh(false)).toBeNull()
    expect(checkSlidingRefresh(true)).toEqual({})
    expect(checkSlidingRefresh({ interval: 0 })).toEqual({ interval: 0 })
  })
})

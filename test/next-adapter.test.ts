/**
 * edge-session/next, black box: a NextRequest in, a NextResponse (status, Location, Set-Cookie,
 * forwarded request headers) out. Runs under Node, so it is also the "same helper under Node" check
 * for proxy.ts; the browser suite covers the edge runtime.
 */
import { NextRequest } from 'next/server'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { EngineFactory, SessionEngine } from '../src/core/engine.js'
import { REFRESHED_KEY } from '../src/core/refresh.js'
import { cookieEngine } from '../src/engines/cookie.js'
import { memoryEngine } from '../src/engines/memory.js'
import { SessionReadOnly, SessionRequired, SessionStoreUnavailable, UpdateError } from '../src/errors.js'
import { createNextSession, safeNextPath, type SessionMiddlewareOptions } from '../src/next/index.js'

const SECRET = 'unit-secret-unit-secret-unit-secret-0123'
const ORIGIN = 'http://app.test'
type Data = { user?: string; color?: string }

/** An engine that records every call, around a real one. */
function counted(factory: EngineFactory): { factory: EngineFactory; calls: string[] } {
  const calls: string[] = []
  return {
    calls,
    factory: (settings) => {
      const inner = factory(settings)
      const engine: SessionEngine = {
        load: (key) => (calls.push('load'), inner.load(key)),
        save: (key, write, options) => (calls.push(options.mustCreate ? 'create' : 'save'), inner.save(key, write, options)),
        delete: (key) => (calls.push('delete'), inner.delete(key)),
        exists: (key) => inner.exists(key),
        clearExpired: () => inner.clearExpired(),
      }
      return engine
    },
  }
}

function setup(options: Partial<SessionMiddlewareOptions<Data>> = {}, engine: EngineFactory = memoryEngine()) {
  const next = createNextSession<Data>({ secret: SECRET, engine })
  const middleware = next.sessionMiddleware({
    protect: ['/account', /^\/admin(\/|$)/],
    allow: async (session) => (await session.aget('user')) !== undefined,
    ...options,
  })
  return { ...next, middleware }
}

async function signedIn(store: ReturnType<typeof setup>['store'], data: Data = { user: 'ada' }): Promise<string> {
  const session = store.open()
  await session.aupdate(data)
  await session.asave()
  return session.sessionKey!
}

function request(path: string, init: { cookie?: string; method?: string; headers?: Record<string, string> } = {}): NextRequest {
  const headers = new Headers(init.headers)
  if (init.cookie !== undefined) headers.set('cookie', init.cookie)
  return new NextRequest(`${ORIGIN}${path}`, { method: init.method ?? 'GET', headers })
}

const passedThrough = (response: Response): boolean => response.headers.get('x-middleware-next') === '1'

describe('sessionMiddleware: gating', () => {
  it('sends an anonymous visitor of a protected path to the login URL with next= the path and query', async () => {
    const { middleware } = setup()
    const response = await middleware(request('/account/settings?tab=2'))
    expect(response.status).toBe(307)
    const location = new URL(response.headers.get('location')!)
    expect(location.origin).toBe(ORIGIN)
    expect(location.pathname).toBe('/login')
    expect(location.searchParams.get('next')).toBe('/account/settings?tab=2')
    expect(location.search).toBe('?next=/account/settings%3Ftab%3D2')
    expect(response.headers.get('vary')).toBe('Cookie')
  })

  it('answers a POST to a protected path with 303, so the browser comes back with GET', async () => {
    const { middleware } = setup()
    expect((await middleware(request('/account', { method: 'POST' }))).status).toBe(303)
  })

  it('matches strings at segment boundaries and RegExps on the pathname, and never gates the login page', async () => {
    const { middleware } = setup({ protect: [/.*/] })
    expect((await middleware(request('/login'))).status).not.toBe(307)
    const { middleware: plain } = setup()
    expect(passedThrough(await plain(request('/accounts')))).toBe(true)
    expect(passedThrough(await plain(request('/')))).toBe(true)
    expect((await plain(request('/account'))).status).toBe(307)
    expect((await plain(request('/admin'))).status).toBe(307)
    expect((await plain(request('/administrator'))).status).not.toBe(307)
  })

  it('lets a signed-in visitor through with Vary: Cookie and no Set-Cookie', async () => {
    const { middleware, store } = setup()
    const key = await signedIn(store)
    const response = await middleware(request('/account', { cookie: `sessionid=${key}` }))
    expect(passedThrough(response)).toBe(true)
    expect(response.headers.get('vary')).toBe('Cookie')
    expect(response.headers.get('set-cookie')).toBeNull()
  })

  it('does not read the session, or vary, on a path it does not protect', async () => {
    const { calls, factory } = counted(memoryEngine())
    const { middleware, store } = setup({}, factory)
    const key = await signedIn(store)
    calls.length = 0
    const response = await middleware(request('/about', { cookie: `sessionid=${key}` }))
    expect(passedThrough(response)).toBe(true)
    expect(calls).toEqual([])
    expect(response.headers.get('vary')).toBeNull()
  })

  it('treats a tampered cookie as anonymous and deletes it (behaviour 136)', async () => {
    const { middleware } = setup({}, cookieEngine())
    const { store } = setup({}, cookieEngine())
    const token = await signedIn(store)
    const tampered = token.slice(0, -3) + (token.endsWith('AAA') ? 'BBB' : 'AAA')
    const response = await middleware(request('/account', { cookie: `sessionid=${tampered}` }))
    expect(response.status).toBe(307)
    const setCookie = response.headers.get('set-cookie')!
    expect(setCookie).toMatch(/^sessionid=;/)
    expect(setCookie).toMatch(/Max-Age=0/i)
  })
})

describe('sessionMiddleware: a rule with a trailing slash', () => {
  it("protects '/admin' and what is below it when written '/admin/' (Next serves /admin/ as /admin)", async () => {
    const { middleware } = setup({ protect: ['/admin/', '/reports//'] })
    expect((await middleware(request('/admin'))).status).toBe(307)
    expect((await middleware(request('/admin/'))).status).toBe(307)
    expect((await middleware(request('/admin/users'))).status).toBe(307)
    expect((await middleware(request('/reports'))).status).toBe(307)
    expect(passedThrough(await middleware(request('/administrator')))).toBe(true)
    expect(passedThrough(await middleware(request('/')))).toBe(true)
  })

  it("treats '/' as every path but the login page", async () => {
    const { middleware } = setup({ protect: ['/'] })
    expect((await middleware(request('/'))).status).toBe(307)
    expect((await middleware(request('/anything/at/all'))).status).toBe(307)
    expect((await middleware(request('/login'))).status).not.toBe(307)
  })
})

describe('sessionMiddleware: the redirect stays on the host the browser asked for', () => {
  it('keeps the request origin when the Host header names it (Next 16 then makes it relative)', async () => {
    const { middleware } = setup()
    const response = await middleware(request('/account', { headers: { host: 'app.test' } }))
    expect(response.headers.get('location')).toBe(`${ORIGIN}/login?next=/account`)
  })

  it('names the host and scheme a proxy forwarded (X-Forwarded-Host or Host, X-Forwarded-Proto) when Next listens elsewhere', async () => {
    const { middleware } = setup()
    const viaHost = await middleware(request('/account', { headers: { host: 'app.example.com', 'x-forwarded-proto': 'https' } }))
    expect(viaHost.headers.get('location')).toBe('https://app.example.com/login?next=/account')
    const viaProxy = await middleware(
      request('/account?x=1', { headers: { host: 'localhost:3000', 'x-forwarded-host': 'shop.example.com', 'x-forwarded-proto': 'https' } }),
    )
    expect(viaProxy.headers.get('location')).toBe('https://shop.example.com/login?next=/account%3Fx%3D1')
  })

  it('writes a 127.x.x.x host in its short form, the same address, which Next 15 does not rename to localhost', async () => {
    const { middleware } = setup()
    const response = await middleware(request('/account', { headers: { host: '127.0.0.1:3000' } }))
    expect(response.headers.get('location')).toBe('http://127.1:3000/login?next=/account')
    expect(new URL(response.headers.get('location')!).host).toBe('127.0.0.1:3000')
    const other = await middleware(request('/account', { headers: { host: '127.1.2.3' } }))
    expect(other.headers.get('location')).toBe('http://127.66051/login?next=/account')
    expect(new URL(other.headers.get('location')!).host).toBe('127.1.2.3')
  })

  it('keeps the request origin, which Next makes relative, when the scheme is unknown or the Host unusable', async () => {
    const { middleware } = setup()
    // Without X-Forwarded-Proto, http could be wrong for a site behind a TLS proxy.
    const unknownScheme = await middleware(request('/account', { headers: { host: 'app.example.com' } }))
    expect(unknownScheme.headers.get('location')).toBe(`${ORIGIN}/login?next=/account`)
    const bad = await middleware(request('/account', { headers: { host: 'bad host', 'x-forwarded-proto': 'https' } }))
    expect(bad.headers.get('location')).toBe(`${ORIGIN}/login?next=/account`)
  })
})

describe('sessionMiddleware: no shared cache keeps a session response', () => {
  const PRIVATE = 'private, no-store'

  it('marks a refreshed cookie private, also on a public page', async () => {
    const { middleware, store } = setup({ slidingRefresh: true })
    const key = await signedIn(store)
    const response = await middleware(request('/about', { cookie: `sessionid=${key}` }))
    expect(response.headers.get('set-cookie')).toMatch(/^sessionid=/)
    expect(response.headers.get('cache-control')).toBe(PRIVATE)
  })

  it('marks the deletion cookie private', async () => {
    const { middleware } = setup({ slidingRefresh: true })
    const response = await middleware(request('/about', { cookie: 'sessionid=unknownkeyunknownkeyunknownkey12' }))
    expect(response.headers.get('set-cookie')).toMatch(/^sessionid=;/)
    expect(response.headers.get('cache-control')).toBe(PRIVATE)
  })

  it('marks a gated path private whichever way the gate went', async () => {
    const { middleware, store } = setup()
    expect((await middleware(request('/account'))).headers.get('cache-control')).toBe(PRIVATE)
    const key = await signedIn(store)
    const allowed = await middleware(request('/account', { cookie: `sessionid=${key}` }))
    expect(passedThrough(allowed)).toBe(true)
    expect(allowed.headers.get('cache-control')).toBe(PRIVATE)
  })

  it("leaves an anonymous visitor's public page to Next's caching", async () => {
    const { middleware } = setup({ slidingRefresh: true })
    const response = await middleware(request('/about'))
    expect(passedThrough(response)).toBe(true)
    expect(response.headers.get('cache-control')).toBeNull()
    expect(response.headers.get('set-cookie')).toBeNull()
  })
})

describe('sessionMiddleware: the next parameter never leaves the site', () => {
  it.each([
    ['//evil.example/x', 'a protocol-relative path'],
    ['/\\evil.example/x', 'a backslash, which URL parsers turn into //'],
    ['/..//evil.example/x', 'a path that normalises to //'],
  ])('drops next for %s (%s)', async (path) => {
    const { middleware } = setup({ protect: [/^\//] })
    const response = await middleware(request(path))
    expect(response.status).toBe(307)
    const location = new URL(response.headers.get('location')!)
    expect(location.origin).toBe(ORIGIN)
    expect(location.pathname).toBe('/login')
    expect(location.searchParams.has('next')).toBe(false)
  })

  it.each([
    ['/account', '/account'],
    ['/account?tab=1#top', '/account?tab=1#top'],
    ['/a/./b/../c', '/a/c'],
  ])('safeNextPath keeps the same-site path %s', (input, output) => {
    expect(safeNextPath(input)).toBe(output)
  })

  it.each([
    'https://evil.example/',
    'http:/evil.example',
    '//evil.example',
    '/\\evil.example',
    '\\\\evil.example',
    '/\t/evil.example',
    '/\n/evil.example',
    '/\u0000x',
    '/..//evil.example',
    'javascript:alert(1)',
    'account',
    '',
    null,
    42,
  ])('safeNextPath refuses %j', (input) => {
    expect(safeNextPath(input)).toBeNull()
  })
})

describe('sessionMiddleware: sliding refresh', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'))
  })
  afterEach(() => vi.useRealTimers())

  it('re-signs the cookie, sets it on the response and forwards it to the same request', async () => {
    const { middleware, store } = setup({ slidingRefresh: true }, cookieEngine())
    const token = await signedIn(store)
    vi.setSystemTime(new Date('2026-01-01T01:00:00Z'))
    const response = await middleware(request('/account', { cookie: `theme=dark; sessionid=${token}; lang=fr` }))
    expect(passedThrough(response)).toBe(true)
    const setCookie = response.headers.get('set-cookie')!
    const fresh = /^sessionid=([^;]+)/.exec(setCookie)![1]!
    expect(fresh).not.toBe(token)
    expect(setCookie).toMatch(/Max-Age=1209600/)
    expect(setCookie).toMatch(/HttpOnly/i)
    // NextResponse.next({ request: { headers } }) encodes the forwarded headers like this.
    expect(response.headers.get('x-middleware-override-headers')).toContain('cookie')
    expect(response.headers.get('x-middleware-request-cookie')).toBe(`theme=dark; lang=fr; sessionid=${fresh}`)
    expect(await store.open(fresh).aget('user')).toBe('ada')
  })

  it('refreshes public pages too, but not POSTs (a server action may set the cookie) nor prefetches', async () => {
    const { calls, factory } = counted(memoryEngine())
    const { middleware, store } = setup({ slidingRefresh: true }, factory)
    const key = await signedIn(store)
    calls.length = 0
    expect((await middleware(request('/', { cookie: `sessionid=${key}` }))).headers.get('set-cookie')).toMatch(/^sessionid=/)
    expect(calls).toEqual(['load', 'save'])
    calls.length = 0
    expect((await middleware(request('/', { cookie: `sessionid=${key}`, method: 'POST' }))).headers.get('set-cookie')).toBeNull()
    expect(
      (await middleware(request('/', { cookie: `sessionid=${key}`, headers: { 'next-router-prefetch': '1' } }))).headers.get('set-cookie'),
    ).toBeNull()
    expect(calls.filter((c) => c !== 'load')).toEqual([])
  })

  it('does not create a session for a visitor without one', async () => {
    const { calls, factory } = counted(memoryEngine())
    const { middleware } = setup({ slidingRefresh: true }, factory)
    const response = await middleware(request('/'))
    expect(response.headers.get('set-cookie')).toBeNull()
    expect(calls).toEqual([])
  })

  it('removes a dead cookie from the forwarded header when it deletes it', async () => {
    const { middleware } = setup({ slidingRefresh: true })
    const response = await middleware(request('/', { cookie: 'sessionid=unknownkeyunknownkeyunknownkey12; theme=dark' }))
    expect(response.headers.get('set-cookie')).toMatch(/^sessionid=;.*Max-Age=0/i)
    expect(response.headers.get('x-middleware-request-cookie')).toBe('theme=dark')
  })
})

describe('sessionMiddleware: store failures', () => {
  const down: EngineFactory = (settings) => ({
    ...memoryEngine()(settings),
    load: async () => {
      throw new SessionStoreUnavailable('connection refused')
    },
  })

  it('fails closed with a 503 on a protected path, never letting the request through', async () => {
    const { middleware } = setup({}, down)
    const response = await middleware(request('/account', { cookie: 'sessionid=abcdefghabcdefghabcdefghabcdefgh' }))
    expect(response.status).toBe(503)
    expect(passedThrough(response)).toBe(false)
    expect(response.headers.get('location')).toBeNull()
    expect(response.headers.get('cache-control')).toBe('no-store')
  })

  it('redirects instead when configured, and fails closed on refreshed public paths too', async () => {
    const { middleware } = setup({ onStoreUnavailable: { redirect: '/maintenance' }, slidingRefresh: true }, down)
    const response = await middleware(request('/', { cookie: 'sessionid=abcdefghabcdefghabcdefghabcdefgh' }))
    expect(response.status).toBe(303)
    expect(new URL(response.headers.get('location')!).pathname).toBe('/maintenance')
  })

  it('answers 400 when the session was deleted by a concurrent request (SessionInterrupted)', async () => {
    const gone: EngineFactory = (settings) => ({
      ...memoryEngine()(settings),
      load: async () => ({ user: 'ada' }),
      save: async () => {
        throw new UpdateError()
      },
    })
    const { middleware } = setup({ slidingRefresh: true }, gone)
    const response = await middleware(request('/account', { cookie: 'sessionid=abcdefghabcdefghabcdefghabcdefgh' }))
    expect(response.status).toBe(400)
    expect(response.headers.get('set-cookie')).toBeNull()
  })

  it('runs here under Node, not an edge sandbox', () => {
    expect(typeof (globalThis as { EdgeRuntime?: unknown }).EdgeRuntime).toBe('undefined')
    expect(typeof process.versions.node).toBe('string')
  })
})

/**
 * getSession() outside Next's request scope: next/headers' cookies() is replaced by a jar that
 * records what Next would send, and React's cache() by a memo that behaves as during a render.
 */
const jar = vi.hoisted(() => {
  const state = {
    rendering: false,
    connections: 0,
    values: new Map<string, string>(),
    sets: [] as { name: string; value: string; maxAge?: number }[],
    // One object per request, as Next gives: getSession() keys its per-request session on it.
    api: {
      get: (name: string) => (state.values.has(name) ? { name, value: state.values.get(name)! } : undefined),
      set: (cookie: { name: string; value: string; maxAge?: number }) => {
        if (state.rendering) throw new Error('Cookies can only be modified in a Server Action or Route Handler.')
        state.sets.push(cookie)
        if (cookie.value === '') state.values.delete(cookie.name)
        else state.values.set(cookie.name, cookie.value)
      },
    },
  }
  return state
})

vi.mock('next/headers.js', () => ({ cookies: async () => jar.api }))

// connection() needs Next's request scope; here it records that a render opted into request time.
vi.mock('next/server.js', async (original) => ({
  ...(await original<typeof import('next/server.js')>()),
  connection: async () => {
    jar.connections++
  },
}))

vi.mock('react', async (original) => {
  const react = await original<typeof import('react')>()
  return {
    ...react,
    // Like React: memoised while rendering (one value per function), a plain call otherwise.
    cache: <F extends (...args: never[]) => unknown>(fn: F) => {
      let memo: { value: unknown } | null = null
      return ((...args: Parameters<F>) => {
        if (!jar.rendering) return fn(...args)
        memo ??= { value: fn(...args) }
        return memo.value
      }) as F
    },
  }
})

describe('getSession()', () => {
  beforeEach(() => {
    jar.rendering = false
    jar.connections = 0
    jar.values.clear()
    jar.sets.length = 0
  })

  it('in an action, commits each awaited change to the store and the cookie before the call returns', async () => {
    const { calls, factory } = counted(memoryEngine())
    const { getSession, store } = setup({}, factory)
    const session = await getSession()
    await session.acycleKey()
    expect(calls).toEqual(['create'])
    expect(jar.sets).toHaveLength(1)
    await session.aset('user', 'ada')
    expect(calls).toEqual(['create', 'save'])
    await session.asetExpiry(0)
    expect(calls).toEqual(['create', 'save', 'save'])
    const last = jar.sets.at(-1)!
    expect(last.maxAge).toBeUndefined() // browser-close session (behaviour 139)
    // Nothing is pending: a redirect() thrown now loses nothing.
    expect(await store.open(last.value).aget('user')).toBe('ada')
  })

  it('writes nothing for reads, and one write per change, in call order', async () => {
    const { calls, factory } = counted(memoryEngine())
    const { getSession, store } = setup({}, factory)
    jar.values.set('sessionid', await signedIn(store))
    calls.length = 0
    const session = await getSession()
    await session.aget('user')
    await session.apop('color', undefined) // changes nothing: nothing to write
    expect(calls).toEqual(['load'])
    await Promise.all([session.aset('color', 'red'), session.aset('user', 'grace')])
    expect(calls).toEqual(['load', 'save', 'save'])
    expect(await store.open(jar.values.get('sessionid')).aitems()).toEqual([
      ['user', 'grace'],
      ['color', 'red'],
      // Each write counts as a sliding refresh (src/core/refresh.ts, stampWrite), in that same write.
      [REFRESHED_KEY, expect.any(Number)],
    ])
  })

  it('keeps a change made while an earlier commit is still writing', async () => {
    // A slow store: the second change is made while the first write is in flight.
    let gate: Promise<void> = Promise.resolve()
    const slow: EngineFactory = (settings) => {
      const inner = memoryEngine()(settings)
      return { ...inner, save: async (key, write, options) => (await gate, inner.save(key, write, options)) }
    }
    const { getSession, store } = setup({}, slow)
    const session = await getSession()
    await session.aset('user', 'ada')
    let release!: () => void
    gate = new Promise((resolve) => (release = resolve))
    const first = session.aset('user', 'grace')
    await new Promise((resolve) => setTimeout(resolve, 5))
    const second = session.aset('color', 'blue')
    release()
    await Promise.all([first, second])
    expect(await store.open(jar.values.get('sessionid')).aitems()).toEqual([
      ['user', 'grace'],
      [REFRESHED_KEY, expect.any(Number)],
      ['color', 'blue'],
    ])
  })

  it('returns the same session for every call in one request', async () => {
    const { getSession } = setup()
    expect(await getSession()).toBe(await getSession())
  })

  it('deletes the cookie on aflush(), after deleting the record', async () => {
    const { calls, factory } = counted(memoryEngine())
    const { getSession, store } = setup({}, factory)
    const key = await signedIn(store)
    jar.values.set('sessionid', key)
    calls.length = 0
    await (await getSession()).aflush()
    expect(calls).toEqual(['delete'])
    expect(jar.sets).toEqual([expect.objectContaining({ name: 'sessionid', value: '', maxAge: 0 })])
    expect(await store.open(key).aget('user')).toBeUndefined()
  })

  it('in a server component, reads once per request and refuses writes with SessionReadOnly', async () => {
    const { calls, factory } = counted(memoryEngine())
    const { getSession, store } = setup({}, factory)
    jar.values.set('sessionid', await signedIn(store))
    calls.length = 0
    jar.rendering = true
    const a = await getSession()
    const b = await getSession()
    expect(a).toBe(b)
    expect(await a.aget('user')).toBe('ada')
    expect(await b.aget('user')).toBe('ada')
    expect(calls).toEqual(['load'])
    await expect(a.aset('user', 'mallory')).rejects.toBeInstanceOf(SessionReadOnly)
    await expect(a.aset('user', 'mallory')).rejects.toMatchObject({ code: 'ERR_SESSION_READ_ONLY' })
    expect(await a.aget('user')).toBe('ada')
    expect(jar.sets).toEqual([])
    expect(calls).toEqual(['load'])
  })
})

describe('getSession() with Cache Components', () => {
  beforeEach(() => {
    jar.rendering = false
    jar.connections = 0
    jar.values.clear()
  })

  it('in a server component, awaits connection() once per request before loading (a load reads the clock)', async () => {
    const { getSession, store } = setup()
    jar.values.set('sessionid', await signedIn(store))
    jar.rendering = true
    await getSession()
    await getSession()
    expect(jar.connections).toBe(1)
  })

  it('in an action or route handler, does not need it', async () => {
    const { getSession } = setup()
    await (await getSession()).aget('user')
    expect(jar.connections).toBe(0)
  })
})

describe('requireSession()', () => {
  const signedInOnly = async (session: { aget(key: 'user'): Promise<string | undefined> }) => (await session.aget('user')) !== undefined

  beforeEach(() => {
    jar.rendering = false
    jar.values.clear()
    jar.sets.length = 0
  })

  /** What Next's redirect() throws: its digest names the target. */
  async function redirectOf(promise: Promise<unknown>): Promise<string> {
    const error = (await promise.then(
      () => null,
      (err: unknown) => err,
    )) as { digest?: string } | null
    expect(error?.digest, 'expected a redirect').toMatch(/^NEXT_REDIRECT;/)
    return error!.digest!.split(';')[2]!
  }

  it('returns the writable session when allow passes', async () => {
    const { getSession, requireSession, store } = setup()
    jar.values.set('sessionid', await signedIn(store))
    const session = await requireSession(signedInOnly)
    expect(session).toBe(await getSession())
    await session.aset('color', 'red')
    expect(await store.open(jar.values.get('sessionid')).aget('color')).toBe('red')
  })

  it('redirects a request without a session to /login, writing nothing', async () => {
    const { calls, factory } = counted(memoryEngine())
    const { requireSession } = setup({}, factory)
    expect(await redirectOf(requireSession(signedInOnly))).toBe('/login')
    expect(jar.sets).toEqual([])
    expect(calls.filter((c) => c !== 'load')).toEqual([])
  })

  it('redirects to the loginUrl given, also for a session that exists but is refused', async () => {
    const { requireSession, store } = setup()
    jar.values.set('sessionid', await signedIn(store, { color: 'blue' }))
    expect(await redirectOf(requireSession(signedInOnly, { loginUrl: '/sign-in?from=action' }))).toBe('/sign-in?from=action')
  })

  it('throws SessionRequired with loginUrl: false, for a route handler to answer 401', async () => {
    const { requireSession } = setup()
    const refused = requireSession(signedInOnly, { loginUrl: false })
    await expect(refused).rejects.toBeInstanceOf(SessionRequired)
    await expect(requireSession(signedInOnly, { loginUrl: false })).rejects.toMatchObject({ code: 'ERR_SESSION_REQUIRED' })
  })
})

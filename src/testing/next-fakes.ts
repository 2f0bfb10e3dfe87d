/**
 * Next.js request fakes for unit tests: run a server action, a route handler or the middleware in vitest
 * (or any runner that can replace a module) without a Next server, and assert the `Set-Cookie` it sends.
 *
 * It imports nothing from `next`, so `edge-session/testing` stays usable outside Next apps: the jar has the
 * shape of the object `cookies()` from `next/headers` returns, and your test puts it in place with its
 * runner's module mock. The jar behaves as a browser between requests: the cookies one request sets are
 * sent with the next.
 *
 * @module
 */
import { serializeCookie, type SessionCookie } from '../lib/cookie.js'

/** One cookie as Next's `cookies().get()` returns it. */
export interface RequestCookie {
  name: string
  value: string
}

/** What `cookies().set()` accepts: `(name, value, options?)` or one object. */
export type CookieSetArgs = [name: string, value: string, options?: Partial<Omit<SessionCookie, 'name' | 'value'>>] | [cookie: Partial<SessionCookie> & RequestCookie]

/** The part of Next's `cookies()` object that server actions, route handlers and edge-session use. */
export interface FakeCookieStore {
  get(name: string | RequestCookie): RequestCookie | undefined
  getAll(name?: string): RequestCookie[]
  has(name: string): boolean
  set(...args: CookieSetArgs): FakeCookieStore
  delete(name: string): FakeCookieStore
  readonly size: number
}

/** A browser's cookie jar for one site, across fake requests. */
export interface FakeBrowser {
  /**
   * Starts a request: from now until the next call, `cookies()` answers with a fresh cookie store holding
   * the browser's cookies (Next gives one object per request), and `headers()` with `headers` and those
   * cookies. Give `middleware` (the response your middleware returned for this request) to render with what
   * it forwarded: the request headers and cookies it passed on with `NextResponse.next({ request })`.
   * Returns the cookie store.
   */
  request(options?: { headers?: HeadersInit; middleware?: Response }): FakeCookieStore
  /**
   * A standard `Request` to `path` carrying the browser's cookies, for a route handler or, wrapped as
   * `new NextRequest(browser.fetchRequest('/account'))`, the middleware.
   */
  fetchRequest(path: string, init?: RequestInit): Request
  /** Takes the `Set-Cookie` headers of a response (the middleware's, a route handler's), as a browser does. */
  receive(response: Response): void
  /** The `Set-Cookie` headers sent since the last `request()`, `receive()` or `clearSent()`, in order. */
  readonly sent: readonly string[]
  /** The cookies sent since the last `request()` (or `receive()`), as objects. */
  readonly sentCookies: readonly (Partial<SessionCookie> & RequestCookie)[]
  clearSent(): void
  /** The browser's cookies now. */
  readonly cookies: ReadonlyMap<string, string>
  /** The `Cookie` request header the browser would send now. */
  cookieHeader(): string
  /** Sets a cookie in the browser directly, e.g. one made with `mintSessionCookie`. */
  setCookie(name: string, value: string): void
  /** Forgets every cookie: a new visitor. */
  clearCookies(): void
  /** The module to stand in for `next/headers`: its `cookies()` answers with the current request's store. */
  readonly nextHeaders: { cookies(): Promise<FakeCookieStore>; headers(): Promise<Headers> }
}

function cookieFrom(args: CookieSetArgs): Partial<SessionCookie> & RequestCookie {
  if (typeof args[0] === 'string') return { ...(args[2] ?? {}), name: args[0], value: args[1] ?? '' }
  return { ...args[0] }
}

/** The `Set-Cookie` header for what `cookies().set()` was given, with defaults Next would use. */
function setCookieHeader(cookie: Partial<SessionCookie> & RequestCookie): string {
  return serializeCookie({ path: '/', secure: false, httpOnly: false, ...cookie })
}

/** Whether a cookie set by a response removes it in the browser (Max-Age 0, or Expires in the past). */
function removes(cookie: { maxAge?: number; expires?: Date }): boolean {
  return cookie.maxAge === 0 || (cookie.maxAge === undefined && cookie.expires !== undefined && cookie.expires.getTime() <= Date.now())
}

/** The cookies of a `Cookie` request header. */
function parseCookieHeader(header: string | null): Map<string, string> {
  const cookies = new Map<string, string>()
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0) cookies.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim())
  }
  return cookies
}

/** Parses the name, value, Max-Age and Expires of one `Set-Cookie` header. */
function parseSetCookie(header: string): { name: string; value: string; maxAge?: number; expires?: Date } {
  const [pair = '', ...attributes] = header.split(';')
  const eq = pair.indexOf('=')
  const cookie: { name: string; value: string; maxAge?: number; expires?: Date } = { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim() }
  for (const attribute of attributes) {
    const [key = '', value = ''] = attribute.split('=').map((s) => s.trim())
    if (key.toLowerCase() === 'max-age') cookie.maxAge = Number(value)
    if (key.toLowerCase() === 'expires') cookie.expires = new Date(value)
  }
  return cookie
}

/**
 * A fake browser for one site, with `nextHeaders` to stand in for `next/headers`.
 *
 * Exported from `edge-session/testing`.
 *
 * @example
 * ```ts
 * import { vi } from 'vitest'
 * import { fakeBrowser, mintSessionCookie } from 'edge-session/testing'
 *
 * const browser = fakeBrowser()
 * vi.mock('next/headers', () => browser.nextHeaders) // with vi.hoisted(() => fakeBrowser()) for `browser`
 *
 * const minted = await mintSessionCookie(store, { user: 'ada' })
 * browser.setCookie(minted.cookie.name, minted.cookie.value)
 * browser.request()
 * await savePreferences(formData)            // your server action
 * expect(browser.sent[0]).toMatch(/^sessionid=/)
 * ```
 */
export function fakeBrowser(origin = 'http://localhost'): FakeBrowser {
  const jar = new Map<string, string>()
  const sent: string[] = []
  const sentCookies: (Partial<SessionCookie> & RequestCookie)[] = []
  let current: FakeCookieStore | null = null
  let currentHeaders = new Headers()

  function store(initial: ReadonlyMap<string, string>): FakeCookieStore {
    // A request's own view: what it set is what it reads back (a Max-Age=0 value too), as in Next.
    const values = new Map(initial)
    const api: FakeCookieStore = {
      get: (name) => {
        const key = typeof name === 'string' ? name : name.name
        return values.has(key) ? { name: key, value: values.get(key)! } : undefined
      },
      getAll: (name) => [...values].filter(([key]) => name === undefined || key === name).map(([key, value]) => ({ name: key, value })),
      has: (name) => values.has(name),
      set: (...args) => {
        const cookie = cookieFrom(args)
        sent.push(setCookieHeader(cookie))
        sentCookies.push(cookie)
        if (cookie.value === '') values.delete(cookie.name)
        else values.set(cookie.name, cookie.value)
        if (removes(cookie)) jar.delete(cookie.name)
        else jar.set(cookie.name, cookie.value)
        return api
      },
      delete: (name) => api.set({ name, value: '', maxAge: 0, expires: new Date(0) }),
      get size() {
        return values.size
      },
    }
    return api
  }

  const clearSent = (): void => {
    sent.length = 0
    sentCookies.length = 0
  }
  const cookieHeader = (): string => [...jar].map(([name, value]) => `${name}=${value}`).join('; ')

  return {
    request(options = {}) {
      clearSent()
      currentHeaders = new Headers(options.headers)
      let cookies: ReadonlyMap<string, string> = jar
      const overridden = options.middleware?.headers.get('x-middleware-override-headers')
      if (overridden != null) {
        // Next's protocol for NextResponse.next({ request: { headers } }): the names, then each value.
        for (const header of overridden.split(',').filter(Boolean)) {
          const value = options.middleware!.headers.get(`x-middleware-request-${header}`)
          if (value !== null) currentHeaders.set(header, value)
        }
        cookies = parseCookieHeader(currentHeaders.get('cookie'))
      } else if (jar.size > 0) {
        currentHeaders.set('cookie', cookieHeader())
      }
      current = store(cookies)
      return current
    },
    fetchRequest(path, init = {}) {
      const headers = new Headers(init.headers)
      if (jar.size > 0) headers.set('cookie', cookieHeader())
      return new Request(new URL(path, origin), { ...init, headers })
    },
    receive(response) {
      clearSent()
      for (const header of response.headers.getSetCookie()) {
        const cookie = parseSetCookie(header)
        sent.push(header)
        sentCookies.push(cookie)
        if (removes(cookie)) jar.delete(cookie.name)
        else jar.set(cookie.name, cookie.value)
      }
    },
    sent,
    sentCookies,
    clearSent,
    cookies: jar,
    cookieHeader,
    setCookie(name, value) {
      jar.set(name, value)
    },
    clearCookies() {
      jar.clear()
    },
    nextHeaders: {
      async cookies() {
        if (!current) throw new Error('fakeBrowser: call browser.request() before running the action or route handler.')
        return current
      },
      async headers() {
        return new Headers(currentHeaders)
      },
    },
  }
}

/**
 * Where a server action's `redirect()` pointed, or `null` when `error` is not Next's redirect signal.
 * `redirect()` throws; catch it and ask: `expect(redirectTarget(await action().catch((e) => e))).toBe('/account')`.
 *
 * Exported from `edge-session/testing`.
 */
export function redirectTarget(error: unknown): string | null {
  // Next's signal: an error whose digest is `NEXT_REDIRECT;<type>;<url>;<status>;`.
  const digest = (error as { digest?: unknown } | null)?.digest
  if (typeof digest !== 'string' || !digest.startsWith('NEXT_REDIRECT;')) return null
  const parts = digest.split(';')
  return parts.slice(2, -2).join(';')
}

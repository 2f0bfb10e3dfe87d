import { NextResponse, type NextRequest } from 'next/server.js'
import { commitSession } from '../core/http.js'
import { checkSlidingRefresh, refreshIfDue, type SlidingRefreshOptions } from '../core/refresh.js'
import type { Session } from '../core/session.js'
import type { SessionCookie } from '../lib/cookie.js'
import type { SessionStore } from '../store.js'
import { SessionInterrupted, SessionStoreUnavailable } from '../errors.js'
import { safeNextPath } from './safe-path.js'

export interface SessionMiddlewareOptions<T extends object> {
  /**
   * Paths that need `allow`. A string matches that path and everything below it
   * (`'/account'` matches `/account` and `/account/x`, not `/accounts`); a trailing slash is ignored
   * (`'/admin/'` also protects `/admin`, where Next sends `/admin/`). A RegExp is tested on the pathname.
   */
  protect: ReadonlyArray<string | RegExp>
  /** Who may see a protected path, e.g. `async (s) => (await s.aget('user')) !== undefined`. */
  allow: (session: Session<T>) => boolean | Promise<boolean>
  /** Where refused visitors go; the path they asked for rides along in `nextParam`. Default `/login`. */
  loginUrl?: string
  /** Default `next`. */
  nextParam?: string
  /**
   * Re-save a non-empty session on GET/HEAD visits (prefetches aside, when the middleware can see them: Next strips
   * its router's prefetch headers first, vercel/next.js#63728), restarting its expiry, at most once per
   * `interval` seconds (like Auth.js's `updateAge`; default a tenth of the session's age or idle timeout, and at
   * most half a snapshot's `maxAge` with `withSnapshot`, so the snapshot stays fresh; `0` = every visit, Django's
   * `SESSION_SAVE_EVERY_REQUEST` for matched paths). So most visits verify and do not sign:
   * a session ends between `age − interval` and `age` seconds after the last visit (src/core/refresh.ts). An action's
   * or route handler's write counts as a refresh, so a session written less than `interval` ago is not re-issued.
   * The new cookie goes to the browser and to this request's server components. Other methods are left alone:
   * a POST may run a server action that sets the cookie itself, and two Set-Cookie headers would race. Default `false`.
   */
  slidingRefresh?: boolean | SlidingRefreshOptions
  /**
   * The store could not be reached: the session is unknown, so the request must not go on as if
   * anonymous or signed in. Default: a 503. `{ redirect: '/maintenance' }` sends a 303 there instead
   * (keep that path out of `protect` and out of the matcher).
   */
  onStoreUnavailable?: { redirect: string } | { status: number }
  /**
   * Flash messages (`createFlash(store)` from `edge-session/next`): the middleware is where they are
   * consumed. On a page visit it hands the pending messages to the render and deletes their cookie.
   */
  flash?: RequestForwarder
}

/**
 * Shapes the request a page renders with, beside the session cookie: flash messages plug in here
 * (src/next/flash.ts). `visit` is a GET/HEAD page view, `prefetch` a GET the router makes ahead of one,
 * `other` anything else (a server action's POST). Returns a cookie to set on the response, if any.
 */
export interface RequestForwarder {
  forward(request: NextRequest, headers: Headers, kind: 'visit' | 'prefetch' | 'other'): Promise<SessionCookie | null>
}

/** The `Cookie` request header with `name` set to `value`, or removed when `value` is null. */
export function rewriteCookieHeader(header: string | null, name: string, value: string | null): string {
  const parts = (header ?? '')
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '' && (part.includes('=') ? part.slice(0, part.indexOf('=')).trim() : part) !== name)
  if (value !== null) parts.push(`${name}=${value}`)
  return parts.join('; ')
}

/** Appends `Cookie` to `Vary` once, case-insensitively, as Django's patch_vary_headers does (behaviour 137). */
function varyOnCookie(headers: Headers): void {
  const current = headers.get('vary')
  const fields = current ? current.split(',').map((f) => f.trim().toLowerCase()) : []
  if (fields.includes('cookie') || fields.includes('*')) return
  headers.set('vary', current ? `${current}, Cookie` : 'Cookie')
}

function isDeletion(cookie: SessionCookie): boolean {
  return cookie.value === '' && cookie.maxAge === 0
}

/** `'/admin/'` → `'/admin'`: Next serves `/admin/` as `/admin`, so a rule with the slash would never match. */
function normalisePrefix(rule: string): string {
  return rule.replace(/\/+$/, '') || '/'
}

/** A dotted-quad loopback host (127.x.x.x), which Next 15's URL handling renames to `localhost`. */
const IPV4_LOOPBACK = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(:\d+)?$/

/**
 * The Location for a redirect to `target`, a page of this site. Next 16 makes a Location on its own
 * origin relative, and Next 15 does too unless `next start -H` names a 127.x address: then it renames
 * the Location's host to `localhost`, another origin for the browser, whose cookie seems lost. So when
 * the browser asked for another host than Next's request URL names, and we know its scheme
 * (`X-Forwarded-Proto` from a proxy, or a loopback address, which is plain http), the Location names
 * the host it asked for (`X-Forwarded-Host`, else `Host`); a 127.x address in its short form (`127.1`
 * for 127.0.0.1, the same address in the URL standard), which Next 15 leaves alone. Without a known
 * scheme we keep Next's relative Location rather than guess http for a site served over https.
 */
function redirectLocation(request: NextRequest, target: URL): string {
  const asked = (request.headers.get('x-forwarded-host') ?? request.headers.get('host'))?.split(',')[0]!.trim()
  if (!asked || asked === target.host) return target.href
  const loopback = IPV4_LOOPBACK.exec(asked)
  const proto = request.headers.get('x-forwarded-proto')?.split(',')[0]!.trim()
  const scheme = proto === 'https' || proto === 'http' ? proto : loopback ? 'http' : null
  if (scheme === null) return target.href
  const host = loopback ? `127.${(Number(loopback[1]) << 16) + (Number(loopback[2]) << 8) + Number(loopback[3])}${loopback[4] ?? ''}` : asked
  const location = `${scheme}://${host}${target.pathname}${target.search}`
  try {
    new URL(location)
    return location
  } catch {
    // A Host header no URL accepts: stay with Next's own idea of the origin.
    return target.href
  }
}

/** A redirect whose Location is exactly `location` (NextResponse.redirect would re-serialise the host). */
function redirectResponse(request: NextRequest, target: URL, status: number): NextResponse {
  return new NextResponse(null, { status, headers: { location: redirectLocation(request, target) } })
}

/**
 * A `middleware.ts` (edge) or `proxy.ts` (Node) function: gates `protect`ed paths by `allow`,
 * optionally slides the expiry, and applies Django's response rules to the cookie.
 */
export function sessionMiddleware<T extends object>(
  store: SessionStore<T>,
  options: SessionMiddlewareOptions<T>,
): (request: NextRequest) => Promise<NextResponse> {
  const name = store.settings.cookieName
  const loginUrl = options.loginUrl ?? '/login'
  const nextParam = options.nextParam ?? 'next'
  const loginPath = new URL(loginUrl, 'http://edge-session.invalid').pathname
  const checked = checkSlidingRefresh(options.slidingRefresh)
  const within = store.engine.refreshWithin
  const refresh = checked && within !== undefined ? { ...checked, within } : checked
  const rules = options.protect.map((rule) => (typeof rule === 'string' ? normalisePrefix(rule) : rule))
  const isProtected = (pathname: string): boolean =>
    pathname !== loginPath &&
    rules.some((rule) =>
      typeof rule === 'string' ? rule === '/' || pathname === rule || pathname.startsWith(`${rule}/`) : rule.test(pathname),
    )

  function unavailable(request: NextRequest): NextResponse {
    const answer = options.onStoreUnavailable
    if (answer && 'redirect' in answer) return redirectResponse(request, new URL(answer.redirect, request.url), 303)
    return new NextResponse('The session store is unavailable. Please try again shortly.', {
      status: answer?.status ?? 503,
      headers: { 'cache-control': 'no-store', 'retry-after': '5', 'content-type': 'text/plain; charset=utf-8' },
    })
  }

  return async function middleware(request) {
    const value = request.cookies.get(name)?.value
    const session = store.open(value)
    const { pathname, search } = request.nextUrl
    const readOnlyMethod = request.method === 'GET' || request.method === 'HEAD'
    // A prefetch is not a visit: refreshing on each would write the store once per link on the page.
    const prefetch = request.headers.has('next-router-prefetch') || /prefetch/i.test(request.headers.get('sec-purpose') ?? request.headers.get('purpose') ?? '')
    const gated = isProtected(pathname)
    let allowed = true
    let commit
    try {
      if (gated) allowed = await options.allow(session)
      if (refresh && allowed && readOnlyMethod && !prefetch) await refreshIfDue(session, refresh)
      commit = await commitSession(session, { hadCookie: value !== undefined })
    } catch (err) {
      if (err instanceof SessionStoreUnavailable) return unavailable(request)
      // Django answers 400 (behaviour 143): the user logged out in a parallel request.
      if (err instanceof SessionInterrupted) return new NextResponse(err.message, { status: 400, headers: { 'cache-control': 'no-store' } })
      throw err
    }

    let response: NextResponse
    let flashCookie: SessionCookie | null = null
    if (!allowed) {
      const target = new URL(loginUrl, request.url)
      const next = safeNextPath(pathname + search)
      if (next !== null) {
        target.searchParams.set(nextParam, next)
        // `/` needs no escaping in a query (RFC 3986 §3.4): /login?next=/account reads better than %2Faccount.
        target.search = target.search.replace(/%2F/g, '/')
      }
      response = redirectResponse(request, target, readOnlyMethod ? 307 : 303)
    } else if (commit.cookie || options.flash) {
      const headers = new Headers(request.headers)
      if (commit.cookie) {
        // Server components of this same request read the new value, not the one the browser sent.
        const forwarded = rewriteCookieHeader(headers.get('cookie'), name, isDeletion(commit.cookie) ? null : commit.cookie.value)
        if (forwarded === '') headers.delete('cookie')
        else headers.set('cookie', forwarded)
      }
      flashCookie = (await options.flash?.forward(request, headers, readOnlyMethod ? (prefetch ? 'prefetch' : 'visit') : 'other')) ?? null
      response = NextResponse.next({ request: { headers } })
    } else {
      response = NextResponse.next()
    }
    if (commit.cookie) response.cookies.set(commit.cookie)
    if (flashCookie) response.cookies.set(flashCookie)
    if (commit.vary) varyOnCookie(response.headers)
    // Never let a shared cache keep a response that carries this visitor's cookie, or one whose answer
    // depended on their session: a cached copy would hand the cookie (or the deletion cookie, or a
    // gated page) to everyone it is served to. An anonymous visitor's public page stays cacheable.
    if (commit.cookie || flashCookie || gated) {
      response.headers.set('cache-control', 'private, no-store')
    }
    return response
  }
}

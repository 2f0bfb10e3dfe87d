import { NextResponse, type NextRequest } from 'next/server.js'
import { commitSession } from '../core/http.js'
import type { Session } from '../core/session.js'
import type { SessionCookie } from '../lib/cookie.js'
import type { SessionStore } from '../store.js'
import { SessionInterrupted, SessionStoreUnavailable } from '../errors.js'
import { safeNextPath } from './safe-path.js'

export interface SessionMiddlewareOptions<T extends object> {
  /**
   * Paths that need `allow`. A string matches that path and everything below it
   * (`'/account'` matches `/account` and `/account/x`, not `/accounts`); a RegExp is tested on the pathname.
   */
  protect: ReadonlyArray<string | RegExp>
  /** Who may see a protected path, e.g. `async (s) => (await s.aget('user')) !== undefined`. */
  allow: (session: Session<T>) => boolean | Promise<boolean>
  /** Where refused visitors go; the path they asked for rides along in `nextParam`. Default `/login`. */
  loginUrl?: string
  /** Default `next`. */
  nextParam?: string
  /**
   * Re-save a non-empty session on every GET/HEAD the middleware sees (prefetches aside), restarting its expiry
   * (Django's `SESSION_SAVE_EVERY_REQUEST`, for matched paths). The new cookie goes to the browser and
   * to this request's server components. Other methods are left alone: a POST may run a server
   * action that sets the cookie itself, and two Set-Cookie headers would race. Default `false`.
   */
  slidingRefresh?: boolean
  /**
   * The store could not be reached: the session is unknown, so the request must not go on as if
   * anonymous or signed in. Default: a 503. `{ redirect: '/maintenance' }` sends a 303 there instead
   * (keep that path out of `protect` and out of the matcher).
   */
  onStoreUnavailable?: { redirect: string } | { status: number }
}

/** The `Cookie` request header with `name` set to `value`, or removed when `value` is null. */
function rewriteCookieHeader(header: string | null, name: string, value: string | null): string {
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
  const isProtected = (pathname: string): boolean =>
    pathname !== loginPath &&
    options.protect.some((rule) =>
      typeof rule === 'string' ? pathname === rule || pathname.startsWith(rule.endsWith('/') ? rule : `${rule}/`) : rule.test(pathname),
    )

  function unavailable(request: NextRequest): NextResponse {
    const answer = options.onStoreUnavailable
    if (answer && 'redirect' in answer) return NextResponse.redirect(new URL(answer.redirect, request.url), 303)
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
    let allowed = true
    let commit
    try {
      if (isProtected(pathname)) allowed = await options.allow(session)
      // akeys() loads, so an unknown or tampered key is dropped here and the cookie deleted below.
      if (options.slidingRefresh && allowed && readOnlyMethod && !prefetch && (await session.akeys()).length > 0) session.modified = true
      commit = await commitSession(session, { hadCookie: value !== undefined })
    } catch (err) {
      if (err instanceof SessionStoreUnavailable) return unavailable(request)
      // Django answers 400 (behaviour 143): the user logged out in a parallel request.
      if (err instanceof SessionInterrupted) return new NextResponse(err.message, { status: 400, headers: { 'cache-control': 'no-store' } })
      throw err
    }

    let response: NextResponse
    if (!allowed) {
      const target = new URL(loginUrl, request.url)
      const next = safeNextPath(pathname + search)
      if (next !== null) {
        target.searchParams.set(nextParam, next)
        // `/` needs no escaping in a query (RFC 3986 §3.4): /login?next=/account reads better than %2Faccount.
        target.search = target.search.replace(/%2F/g, '/')
      }
      response = NextResponse.redirect(target, readOnlyMethod ? 307 : 303)
    } else if (commit.cookie) {
      // Server components of this same request read the new value, not the one the browser sent.
      const headers = new Headers(request.headers)
      const forwarded = rewriteCookieHeader(headers.get('cookie'), name, isDeletion(commit.cookie) ? null : commit.cookie.value)
      if (forwarded === '') headers.delete('cookie')
      else headers.set('cookie', forwarded)
      response = NextResponse.next({ request: { headers } })
    } else {
      response = NextResponse.next()
    }
    if (commit.cookie) response.cookies.set(commit.cookie)
    if (commit.vary) varyOnCookie(response.headers)
    return response
  }
}

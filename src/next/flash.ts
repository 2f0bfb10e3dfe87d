/**
 * Flash messages for Next.js: `await flash.success('Saved')` in a server action (or route handler) that
 * then calls `redirect()`, and `await flash.messages()` in the next page's server component shows them once.
 *
 * Where the messages are consumed, since a server component cannot write a cookie:
 * - A fetch server action (the browser runs JS) always answers with a render: the redirect target's (Next
 *   fetches it from itself, through the middleware, within the action's response), or the current page's
 *   (Next re-renders it because the action set a cookie). So the action sets the messages cookie with
 *   `Max-Age=0`: Next hands it to that render, the messages travel in the response, and the browser keeps
 *   nothing that a reload or another tab could show again. (The middleware cannot delete a cookie there:
 *   Next drops the Set-Cookie headers of the render it fetches for an action.)
 * - Anywhere else (a route handler, a form posted without JS and answered with a 303) the cookie stays in
 *   the browser until the next page visit, where the middleware (`sessionMiddleware({ flash })`) consumes it:
 *   it passes the messages to the render in a request header, deletes the cookie on the response, and
 *   leaves them alone for prefetches, which are not visits.
 *
 * @module
 */
import { cookies, headers } from 'next/headers.js'
import type { NextRequest } from 'next/server.js'
import type { SessionSettings } from '../core/settings.js'
import { SessionReadOnly } from '../errors.js'
import { flashCookies, flashMessage, type FlashLevel, type FlashMessage, type FlashOptions } from '../flash.js'
import { rewriteCookieHeader, type RequestForwarder } from './middleware.js'

export type { FlashLevel, FlashMessage, FlashOptions } from '../flash.js'

/** The request header the middleware hands a page's pending messages in, still signed. */
export const FLASH_HEADER = 'x-edge-session-flash'

type CookieJar = Awaited<ReturnType<typeof cookies>>

export interface NextFlash extends RequestForwarder {
  /** Adds a message for the next page (server actions and route handlers). Several per request keep their order. */
  add(level: FlashLevel, message: string): Promise<void>
  debug(message: string): Promise<void>
  info(message: string): Promise<void>
  success(message: string): Promise<void>
  warning(message: string): Promise<void>
  error(message: string): Promise<void>
  /**
   * The messages for the page being rendered (server components), oldest first. Shown once: the request
   * that delivers them is the last to see them.
   */
  messages(): Promise<FlashMessage[]>
}

/**
 * Flash messages for an app, signed with its session secret. Pass the result to `sessionMiddleware({ flash })`,
 * which consumes them.
 *
 * Exported from `edge-session/next`.
 *
 * @example
 * ```ts
 * // lib/session.ts
 * export const { getSession, sessionMiddleware, store } = createNextSession<AppSession>()
 * export const flash = createFlash(store)
 *
 * // app/actions.ts ('use server')
 * await flash.success('Preferences saved')
 * redirect('/preferences')
 *
 * // app/preferences/page.tsx
 * const messages = await flash.messages()
 * ```
 */
export function createFlash(store: { readonly settings: SessionSettings }, options: FlashOptions = {}): NextFlash {
  const flashes = flashCookies(store.settings, options)
  const name = flashes.cookieName
  /** Each request's messages so far, and the write in progress, keyed by Next's per-request cookie jar. */
  const pending = new WeakMap<CookieJar, Promise<FlashMessage[]>>()

  async function add(level: FlashLevel, message: string): Promise<void> {
    const added = flashMessage(level, message)
    const jar = await cookies()
    const previous = pending.get(jar) ?? flashes.read(jar.get(name)?.value)
    const next = previous.then(async (messages) => {
      const all = [...messages, added]
      const cookie = await flashes.write(all)
      // A fetch action's response carries its own render: the browser need not keep the messages (see above).
      const fetchAction = (await headers()).has('next-action')
      try {
        jar.set(fetchAction ? { ...cookie, maxAge: 0 } : cookie)
      } catch (err) {
        throw Object.assign(new SessionReadOnly('flash.add'), { cause: err })
      }
      return all
    })
    // A failed add leaves the earlier messages in place for the next one.
    pending.set(jar, next.catch(() => previous))
    await next
  }

  return {
    add,
    debug: (message) => add('debug', message),
    info: (message) => add('info', message),
    success: (message) => add('success', message),
    warning: (message) => add('warning', message),
    error: (message) => add('error', message),

    async messages() {
      // From the middleware on a visit; from the cookie itself when this render answers the action that set it.
      const [forwarded, own] = await Promise.all([flashes.read((await headers()).get(FLASH_HEADER)), flashes.read((await cookies()).get(name)?.value)])
      return [...forwarded, ...own]
    },

    async forward(request: NextRequest, forwarded: Headers, kind) {
      // Only the middleware may say what the messages are.
      forwarded.delete(FLASH_HEADER)
      const value = request.cookies.get(name)?.value
      if (value === undefined || kind === 'other') return null
      // The page must not read the cookie itself: a prefetch is no visit, and a visit gets them once, below.
      const cookie = rewriteCookieHeader(forwarded.get('cookie'), name, null)
      if (cookie === '') forwarded.delete('cookie')
      else forwarded.set('cookie', cookie)
      if (kind === 'prefetch') return null
      forwarded.set(FLASH_HEADER, value)
      return flashes.deletion()
    },
  }
}

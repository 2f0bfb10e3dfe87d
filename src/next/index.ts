/**
 * edge-session for Next.js (App Router, 15 and 16): `getSession()` for server components, server
 * actions and route handlers, `requireSession()` to guard actions and route handlers, and a gate for
 * `proxy.ts` (Node) or `middleware.ts` (edge).
 * The only part of edge-session that imports `next`.
 *
 * When the store is written: in a server action or route handler, each mutating call
 * (`aset`, `adelete`, `apop`, `aupdate`, `asetdefault`, `aclear`, `aflush`, `acycleKey`,
 * `asetExpiry`, `asetTestCookie`, `adeleteTestCookie`, `asave`) writes the store and sets the
 * cookie before its promise resolves. So a request makes one store write per mutating call that
 * changed something (`acycleKey` also deletes the old record, atomically where the engine can;
 * `aflush` only deletes); `aupdate()` sets several keys in one write. Calls made without awaiting
 * run one after another, in call order, never interleaved. Reads never write. Server components
 * never write. The middleware writes once, and only with `slidingRefresh` when a refresh is due (or to delete a bad cookie).
 * Each write also stamps the session as refreshed (src/core/refresh.ts, `stampWrite`), so a refresh in flight never
 * re-issues older data over it.
 *
 * Where this differs from Django's one save per response: a change is durable as soon as its call
 * resolves, even if the action throws later (Django skips the save on a 5xx). A failed write
 * (`SessionInterrupted`, `SessionStoreUnavailable`, `SessionTooLarge`) rejects the call that made it.
 *
 * How the context is told apart: React memoises `cache()` only while rendering server components,
 * which is exactly where Next forbids setting cookies; actions and route handlers run outside it.
 *
 * @module
 */
import type { Session } from '../core/session.js'
import { createSessionStore, type SessionStore, type SessionStoreOptions } from '../store.js'
import { sessionMiddleware, type SessionMiddlewareOptions } from './middleware.js'
import { sessionGetter, sessionRequirer, type RequireSessionOptions, type SessionAllow } from './session.js'

export { safeNextPath } from './safe-path.js'
export type { SessionMiddlewareOptions, RequestForwarder } from './middleware.js'
export type { SlidingRefreshOptions } from '../core/refresh.js'
export { createFlash, FLASH_HEADER } from './flash.js'
export type { NextFlash, FlashLevel, FlashMessage, FlashOptions } from './flash.js'
export type { RequireSessionOptions, SessionAllow } from './session.js'

export interface NextSession<T extends object> {
  /** The configured store: open sessions by key in scripts, jobs and tests. */
  readonly store: SessionStore<T>
  /**
   * The current request's session. In server components it is read-only (writes reject with
   * `SessionReadOnly`) and loaded once per request however many components ask. In server actions
   * and route handlers every change is committed, store and `Set-Cookie`, before the call returns.
   */
  getSession(): Promise<Session<T>>
  /**
   * `getSession()` for code that must not run without a session passing `allow`: every server action
   * and route handler that needs a signed-in user (the middleware never sees an action as such).
   * Refused requests are redirected to `loginUrl` (default `/login`), or with `loginUrl: false` get a
   * `SessionRequired` error.
   *
   * @example
   * ```ts
   * const session = await requireSession(async (s) => (await s.aget('user')) !== undefined)
   * ```
   */
  requireSession(allow: SessionAllow<T>, options?: RequireSessionOptions): Promise<Session<T>>
  /** Builds the `middleware` (or `proxy`) function: see `SessionMiddlewareOptions`. */
  sessionMiddleware(options: SessionMiddlewareOptions<T>): ReturnType<typeof sessionMiddleware<T>>
}

/**
 * Configures edge-session once for a Next.js app; call it in a module of your own (`lib/session.ts`)
 * and import from there. Options are validated now, not on the first request.
 *
 * Exported from `edge-session/next`.
 *
 * @example
 * ```ts
 * // lib/session.ts
 * import { createNextSession } from 'edge-session/next'
 * export const { getSession, sessionMiddleware } = createNextSession<{ user?: string }>()
 *
 * // app/account/page.tsx
 * const user = await (await getSession()).aget('user')
 * ```
 */
export function createNextSession<T extends object = Record<string, unknown>>(options: SessionStoreOptions = {}): NextSession<T> {
  const store = createSessionStore<T>(options)
  const getSession = sessionGetter(store)
  return {
    store,
    getSession,
    requireSession: sessionRequirer(getSession),
    sessionMiddleware: (middlewareOptions) => sessionMiddleware(store, middlewareOptions),
  }
}

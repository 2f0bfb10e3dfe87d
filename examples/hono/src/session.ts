/**
 * Django's SessionMiddleware for Hono, in a dozen lines: the framework-free core does the work. It opens the session
 * from the request's cookie, lets the handlers use it (`c.get('session')`), then applies Django's response rules:
 * save when needed, set or delete the cookie, add `Vary: Cookie` when the session was read.
 */
import type { Context, MiddlewareHandler } from 'hono'
import { commitSession, readCookie, serializeCookie, type Session, type SessionStore } from 'edge-session'

export interface SessionVariables<T extends object> {
  session: Session<T>
}

/** `store` is a function of the context: on Workers the secret arrives with each request, in `c.env`. */
export function sessions<T extends object, E extends { Variables: SessionVariables<T> }>(
  store: (c: Context<E>) => SessionStore<T>,
): MiddlewareHandler<E> {
  return async (c, next) => {
    const sessionStore = store(c)
    const value = readCookie(c.req.header('cookie'), sessionStore.settings.cookieName)
    const session = sessionStore.open(value)
    c.set('session', session)
    await next()
    const { cookie, vary } = await commitSession(session, { hadCookie: value !== undefined, status: c.res.status })
    if (cookie) c.res.headers.append('Set-Cookie', serializeCookie(cookie))
    if (vary) c.res.headers.append('Vary', 'Cookie')
  }
}

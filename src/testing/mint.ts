/**
 * Signed-in sessions for tests, without the login UI: `mintSessionCookie` writes a session through the
 * real store (so any engine works, and the cookie is exactly what the app would set) and hands back the
 * cookie in the shapes tests need.
 *
 * @module
 */
import { commitSession } from '../core/http.js'
import type { Expiry } from '../core/session.js'
import type { SessionCookie } from '../lib/cookie.js'
import { serializeCookie } from '../lib/cookie.js'
import type { SessionStore } from '../store.js'

/** A cookie as Playwright's `storageState` (and `context.addCookies`) takes it. */
export interface PlaywrightCookie {
  name: string
  value: string
  domain: string
  path: string
  /** Unix seconds; -1 for a cookie that ends with the browser session. */
  expires: number
  httpOnly: boolean
  secure: boolean
  sameSite: 'Strict' | 'Lax' | 'None'
}

export interface MintOptions {
  /**
   * The app's origin, e.g. `'http://127.0.0.1:3000'`: the cookie's domain in `storageState` when the store
   * has no `cookieDomain`. Default `'http://localhost'`.
   */
  url?: string
  /** A per-session expiry, as `session.asetExpiry()` takes it (`0` = ends with the browser). */
  expiry?: Expiry
}

export interface MintedSession {
  /** The session's key: the cookie value (for the cookie engines, the signed data itself). */
  sessionKey: string
  /** The cookie with the store's attributes, in the shape `cookies().set()` takes. */
  cookie: SessionCookie
  /** `name=value`, for a `Cookie` request header. */
  cookieHeader: string
  /** The `Set-Cookie` header the app itself would send. */
  setCookieHeader: string
  /** `browser.newContext({ storageState })` starts signed in. */
  storageState: { cookies: PlaywrightCookie[]; origins: [] }
}

const SAME_SITE = { lax: 'Lax', strict: 'Strict', none: 'None' } as const

/**
 * Writes a session holding `data` to `store` and returns its cookie. Runs the same code path as a
 * request that saves a new session, so the store (Redis included) holds it and the app will load it.
 *
 * Exported from `edge-session/testing`.
 *
 * @example
 * ```ts
 * // playwright global setup, or a test's beforeAll
 * const { storageState } = await mintSessionCookie(store, { user: { id: '42', name: 'Ada' } }, { url: baseURL })
 * const context = await browser.newContext({ storageState })
 * ```
 */
export async function mintSessionCookie<T extends object>(
  store: SessionStore<T>,
  data: NoInfer<Partial<T>>,
  options: MintOptions = {},
): Promise<MintedSession> {
  const session = store.open()
  await session.aupdate(data)
  if (options.expiry !== undefined) await session.asetExpiry(options.expiry)
  const { cookie } = await commitSession(session, { hadCookie: false })
  if (!cookie || session.sessionKey === null) {
    throw new Error('mintSessionCookie(): the store gave no cookie for the new session. Is the engine saving?')
  }
  const domain = store.settings.cookieDomain ?? new URL(options.url ?? 'http://localhost').hostname
  return {
    sessionKey: session.sessionKey,
    cookie,
    cookieHeader: `${cookie.name}=${cookie.value}`,
    setCookieHeader: serializeCookie(cookie),
    storageState: {
      cookies: [
        {
          name: cookie.name,
          value: cookie.value,
          domain,
          path: cookie.path,
          expires: cookie.expires ? Math.floor(cookie.expires.getTime() / 1000) : -1,
          httpOnly: cookie.httpOnly,
          secure: cookie.secure,
          // Playwright needs a value: a cookie without SameSite is treated as Lax by browsers.
          sameSite: cookie.sameSite ? SAME_SITE[cookie.sameSite] : 'Lax',
        },
      ],
      origins: [],
    },
  }
}

import { cookieAttributes, type SessionCookie } from '../lib/cookie.js'
import { cappedExpiryAge, STARTED_KEY } from './lifetime.js'
import { cycledAway, writtenAsIs, type Session, type SessionData } from './session.js'

export interface CommitOptions {
  /** The request carried a session cookie (any value). */
  hadCookie: boolean
  /** The response status; nothing is saved for a 5xx (behaviour 141). Defaults to 200. */
  status?: number
}

export interface CommitResult {
  /** The cookie to set, or the deletion cookie; `null` when the cookie stays as it is. */
  cookie: SessionCookie | null
  /** Add `Vary: Cookie`: the response depends on the session (security S18). */
  vary: boolean
}

/**
 * Django's `SessionMiddleware.process_response`, framework-free (catalogue §2.13): decides whether
 * to save, what cookie to send, and whether to vary. Saves the session when it must. With `lifetime`, the
 * cookie's `Max-Age`/`Expires` are capped like the expiry the save wrote (src/core/lifetime.ts); without it,
 * they are Django's.
 * Throws `SessionInterrupted` when the session was deleted by a concurrent request.
 *
 * Exported from `edge-session`; the Next.js adapter calls it for you.
 */
export async function commitSession<T extends object>(session: Session<T>, options: CommitOptions): Promise<CommitResult> {
  const { settings } = session
  // Read once, before anything below can change them (behaviour 133).
  const accessed = session.accessed
  const modified = session.modified
  const empty = await session.aisEmpty()
  const attributes = cookieAttributes(settings)

  if (options.hadCookie && empty) {
    // The key was cycled by a concurrent request of this browser (a login): the browser holds, or is about to get,
    // the new key's cookie, which a deletion cookie arriving after it would remove. Nothing to send (README: differs).
    if (session[cycledAway]) return { cookie: null, vary: true }
    // The deletion cookie carries no HttpOnly (behaviours 134-135). Django also marks it Secure for SameSite=None and
    // __Secure-/__Host- names; resolveSettings refuses both without cookieSecure, so the attributes' Secure says it.
    return {
      cookie: { ...attributes, value: '', maxAge: 0, expires: new Date(0), httpOnly: false },
      vary: true,
    }
  }
  if (!((modified || settings.saveEveryRequest) && !empty) || (options.status ?? 200) >= 500) {
    return { cookie: null, vary: accessed }
  }
  let maxAge: number | undefined
  let expires: Date | undefined
  if (!(await session.agetExpireAtBrowserClose())) {
    // Computed before the save, and truncated like Django's int(max_age) (behaviours 139-140).
    const age = await session.agetExpiryAge()
    maxAge = Math.trunc(age)
    expires = new Date(Date.now() + age * 1000)
  }
  // Not again when this request already wrote it as it is (after acycleKey(), or an explicit asave()).
  if (!session[writtenAsIs]) await session.asave()
  if (maxAge !== undefined && settings.lifetime) {
    // After the save, which starts the absolute lifetime of a new session: the browser keeps the cookie no
    // longer than the expiry that save wrote, so it never sends one the server must refuse.
    const now = new Date()
    const started = await (session as unknown as Session<SessionData>).aget(STARTED_KEY)
    maxAge = Math.max(0, cappedExpiryAge(maxAge, new Map([[STARTED_KEY, started]]), settings.lifetime, now))
    expires = new Date(now.getTime() + maxAge * 1000)
  }
  return {
    cookie: { ...attributes, value: session.sessionKey ?? '', ...(maxAge === undefined ? {} : { maxAge, expires }) },
    vary: accessed,
  }
}

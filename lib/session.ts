import { cookieEngine } from 'edge-session/cookie'
import { createFlash, createNextSession, type SessionAllow } from 'edge-session/next'
import { upstashRevocation } from 'edge-session/revocation'
import { hasUserIndex, userSessions } from 'edge-session/users'
import { upstashEngine } from 'edge-session/upstash'

/** What this app keeps in a session. */
export interface DemoSession {
  user?: { username: string; name: string }
  fav_color?: string
  note?: string
}

/** SESSION_ENGINE=cookie (default, no service) or upstash (reads UPSTASH_REDIS_REST_URL and _TOKEN, only when chosen). */
const choice = process.env.SESSION_ENGINE ?? 'cookie'

function engineFromEnv() {
  // SESSION_REVOCATION=upstash: signed cookies that logout really ends (reads the same UPSTASH_REDIS_REST_* variables).
  if (choice === 'cookie') return cookieEngine(process.env.SESSION_REVOCATION === 'upstash' ? { revocation: upstashRevocation() } : {})
  if (choice === 'upstash') return upstashEngine()
  throw new Error(`SESSION_ENGINE must be "cookie" or "upstash", not "${choice}".`)
}

/** What the pages say runs underneath. */
export const ENGINE_LABEL = choice === 'upstash' ? 'Upstash Redis' : 'signed cookie'

/** SESSION_ABSOLUTE_AGE / SESSION_IDLE_AGE (seconds): the server-enforced lifetime; unset, Django's expiry alone. */
function lifetimeFromEnv() {
  const absolute = Number(process.env.SESSION_ABSOLUTE_AGE) || undefined
  const idle = Number(process.env.SESSION_IDLE_AGE) || undefined
  return absolute || idle ? { absolute, idle } : undefined
}

export const { getSession, requireSession, sessionMiddleware, store } = createNextSession<DemoSession>({
  engine: engineFromEnv(),
  lifetime: lifetimeFromEnv(),
})

/** Flash messages ("Saved", "Signed in"): added in actions, shown once by app/flash-messages.tsx, consumed by middleware.ts. */
export const flash = createFlash(store)

/** The signed-in user's sessions (app/account/sessions), when the engine keeps a per-user index; else `null`. */
export const users = hasUserIndex(store.engine) ? userSessions(store) : null

/** The demo's one rule: signed in means the session holds a user. Used by the middleware and every guarded action. */
export const signedIn: SessionAllow<DemoSession> = async (session) => (await session.aget('user')) !== undefined

/** Seconds a "remember me" session lasts without a visit. */
export const REMEMBER_FOR = 30 * 24 * 60 * 60

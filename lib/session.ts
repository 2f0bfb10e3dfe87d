import { cookieEngine } from 'edge-session/cookie'
import { createNextSession } from 'edge-session/next'
import { upstashEngine } from 'edge-session/upstash'

/** What this app keeps in a session. */
export interface DemoSession {
  user?: { username: string; name: string }
  fav_color?: string
}

/**
 * The engine comes from configuration: SESSION_ENGINE=cookie (default, no service) or upstash
 * (reads UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN, only when chosen).
 */
function engineFromEnv() {
  const choice = process.env.SESSION_ENGINE ?? 'cookie'
  if (choice === 'cookie') return cookieEngine()
  if (choice === 'upstash') return upstashEngine()
  throw new Error(`SESSION_ENGINE must be "cookie" or "upstash", not "${choice}".`)
}

export const { getSession, sessionMiddleware, store } = createNextSession<DemoSession>({ engine: engineFromEnv() })

/** Seconds a "remember me" session lasts without a visit. */
export const REMEMBER_FOR = 30 * 24 * 60 * 60

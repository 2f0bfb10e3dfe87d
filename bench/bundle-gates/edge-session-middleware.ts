// edge-session's middleware-only entry: the same gate as edge-session.ts, without getSession (next/headers, React).
import { createSessionStore } from 'edge-session'
import { cookieEngine } from 'edge-session/cookie'
import { sessionMiddleware } from 'edge-session/next/middleware'

const store = createSessionStore<{ user?: string }>({ engine: cookieEngine() })

export const middleware = sessionMiddleware(store, {
  protect: ['/account'],
  allow: async (session) => (await session.aget('user')) !== undefined,
})

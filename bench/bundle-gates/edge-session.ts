// edge-session, as its README shows: the Next.js adapter's gate with the signed-cookie engine.
import { cookieEngine } from 'edge-session/cookie'
import { createNextSession } from 'edge-session/next'

const { sessionMiddleware } = createNextSession<{ user?: string }>({ engine: cookieEngine() })

export const middleware = sessionMiddleware({
  protect: ['/account'],
  allow: async (session) => (await session.aget('user')) !== undefined,
})

import type { NextRequest } from 'next/server'
import { sessionMiddleware } from './lib/session'

declare const EdgeRuntime: string | undefined

const gate = sessionMiddleware({
  protect: ['/account', '/preferences'],
  allow: async (session) => (await session.aget('user')) !== undefined,
  loginUrl: '/login',
  slidingRefresh: true,
})

export async function middleware(request: NextRequest) {
  const response = await gate(request)
  // Test mode proves where this ran: Next's edge sandbox defines EdgeRuntime, Node does not.
  if (process.env.EDGE_SESSION_DEMO_TEST === '1') {
    response.headers.set('x-middleware-runtime', typeof EdgeRuntime === 'string' ? 'edge' : 'nodejs')
  }
  return response
}

export const config = {
  matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'],
}

import type { NextRequest } from 'next/server'
import { flash, sessionMiddleware, signedIn } from './lib/session'

declare const EdgeRuntime: string | undefined

// middleware.ts runs on the edge runtime; Next 16 prefers proxy.ts (Node) and warns about this file
// on every build. The demo keeps it to show the edge runtime; README "Quick start" says when to pick which.
const gate = sessionMiddleware({
  protect: ['/account', '/preferences'],
  allow: signedIn,
  loginUrl: '/login',
  slidingRefresh: true,
  // Pending flash messages are handed to the page on the next visit and their cookie deleted.
  flash,
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

import { NextResponse, type NextRequest } from 'next/server'
import type { EngineFactory } from 'edge-session'
import { cookieEngine } from 'edge-session/cookie'
import { createNextSession } from 'edge-session/next'
import { withSnapshot } from 'edge-session/snapshot'

async function engineFromEnv(): Promise<EngineFactory> {
  // SESSION_REVOCATION=upstash: signed cookies checked against the revocation store, as lib/session.ts does.
  if (process.env.SESSION_ENGINE !== 'upstash') {
    if (process.env.SESSION_REVOCATION !== 'upstash') return cookieEngine()
    return cookieEngine({ revocation: (await import('edge-session/revocation')).upstashRevocation() })
  }
  const upstash = (await import('edge-session/upstash')).upstashEngine()
  const snapshot = Number(process.env.SNAPSHOT_MAX_AGE ?? 0)
  return snapshot > 0 ? withSnapshot(upstash, { maxAge: snapshot }) : upstash
}

const mode = process.env.BENCH_MODE ?? 'gate'
const interval = process.env.SLIDING_INTERVAL
const { sessionMiddleware, store } = createNextSession<{ user?: string }>({ engine: await engineFromEnv() })
const gate = sessionMiddleware({
  protect: ['/gated'],
  allow: async (session) => (await session.aget('user')) !== undefined,
  loginUrl: '/login',
  slidingRefresh: mode === 'sliding' && (interval === undefined ? true : { interval: Number(interval) }),
})

export async function middleware(request: NextRequest) {
  if (mode === 'bare') return NextResponse.next()
  if (mode === 'read') {
    // The session read alone, without the adapter's gate, commit and Vary: tells their costs apart.
    const session = store.open(request.cookies.get(store.settings.cookieName)?.value)
    if ((await session.aget('user')) === undefined) return NextResponse.redirect(new URL('/login', request.url))
    return NextResponse.next()
  }
  return gate(request)
}

export const config = {
  matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'],
}

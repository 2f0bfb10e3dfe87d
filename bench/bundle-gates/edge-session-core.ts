// edge-session without the Next.js adapter: the core store and signed-cookie engine, gate written by hand.
import { NextResponse, type NextRequest } from 'next/server'
import { createSessionStore } from 'edge-session'
import { cookieEngine } from 'edge-session/cookie'

const store = createSessionStore({ engine: cookieEngine() })

export async function middleware(request: NextRequest) {
  const session = store.open(request.cookies.get(store.settings.cookieName)?.value)
  if ((await session.aget('user')) === undefined) return NextResponse.redirect(new URL('/login', request.url))
  return NextResponse.next()
}

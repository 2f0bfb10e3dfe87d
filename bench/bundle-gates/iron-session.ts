// iron-session: unseal the cookie and check for a user.
import { NextResponse, type NextRequest } from 'next/server'
import { unsealData } from 'iron-session'

const password = process.env.SESSION_SECRET!

export async function middleware(request: NextRequest) {
  const data = await unsealData<{ user?: string }>(request.cookies.get('session')?.value ?? '', { password })
  if (data.user === undefined) return NextResponse.redirect(new URL('/login', request.url))
  return NextResponse.next()
}

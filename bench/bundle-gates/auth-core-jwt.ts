// Auth.js's JWT layer alone (what an Auth.js v5 gate decodes with): getToken from @auth/core/jwt.
import { NextResponse, type NextRequest } from 'next/server'
import { getToken } from '@auth/core/jwt'

export async function middleware(request: NextRequest) {
  const token = await getToken({ req: request, secret: process.env.AUTH_SECRET!, salt: 'authjs.session-token', secureCookie: false })
  if (!token) return NextResponse.redirect(new URL('/login', request.url))
  return NextResponse.next()
}

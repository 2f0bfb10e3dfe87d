// Baseline: a middleware that gates nothing. Its bytes are subtracted from every other gate's.
import { NextResponse, type NextRequest } from 'next/server'

export function middleware(_request: NextRequest) {
  return NextResponse.next()
}

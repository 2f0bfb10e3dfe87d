import type { SameSite } from '../core/settings.js'

/** A cookie to set, in the shape Next.js's `cookies().set()` also takes. */
export interface SessionCookie {
  name: string
  value: string
  path: string
  domain?: string
  /** Seconds; absent for a browser-session cookie. */
  maxAge?: number
  expires?: Date
  secure: boolean
  httpOnly: boolean
  sameSite?: 'lax' | 'strict' | 'none'
}

const capital = { lax: 'Lax', strict: 'Strict', none: 'None' } as const

/** The `Set-Cookie` header value, attributes in Django's order. Values are already cookie-safe: keys and JWS tokens are base64url. */
export function serializeCookie(cookie: SessionCookie): string {
  let out = `${cookie.name}=${cookie.value}`
  if (cookie.domain) out += `; Domain=${cookie.domain}`
  if (cookie.expires) out += `; Expires=${cookie.expires.toUTCString()}`
  if (cookie.httpOnly) out += '; HttpOnly'
  if (cookie.maxAge !== undefined) out += `; Max-Age=${cookie.maxAge}`
  out += `; Path=${cookie.path}`
  if (cookie.sameSite) out += `; SameSite=${capital[cookie.sameSite]}`
  if (cookie.secure) out += '; Secure'
  return out
}

/** Reads one cookie from a `Cookie` request header; the first occurrence wins, as browsers send the most specific first. */
export function readCookie(header: string | null | undefined, name: string): string | undefined {
  if (!header) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue
    let value = part.slice(eq + 1).trim()
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
    return value
  }
  return undefined
}

export function cookieAttributes(settings: {
  cookieName: string
  cookiePath: string
  cookieDomain: string | undefined
  cookieSecure: boolean
  cookieHttpOnly: boolean
  cookieSameSite: SameSite
}): Omit<SessionCookie, 'value' | 'maxAge' | 'expires'> {
  return {
    name: settings.cookieName,
    path: settings.cookiePath,
    ...(settings.cookieDomain ? { domain: settings.cookieDomain } : {}),
    secure: settings.cookieSecure,
    httpOnly: settings.cookieHttpOnly,
    ...(settings.cookieSameSite ? { sameSite: settings.cookieSameSite } : {}),
  }
}

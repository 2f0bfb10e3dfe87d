/**
 * Flash messages, Django's `contrib.messages`: a note made while handling one request ("Saved") and shown
 * once, on the next page. This module is framework-free: the message model and a signed cookie that
 * carries the pending messages. `edge-session/next` builds `flash.add()` and the read-once display on it.
 *
 * Why a cookie of its own (Django's `CookieStorage`) rather than a key in the session: it works the same on
 * every engine, costs the session store no write, and is readable by the middleware before any page renders.
 * It is signed (the session secret, its own salt), so nobody can plant messages in a page.
 *
 * Exported from `edge-session/flash`.
 *
 * @module
 */
import type { SessionSettings } from './core/settings.js'
import { djangoSigning } from './engines/django-cookie.js'
import { cookieSizeCheck } from './engines/cookie.js'
import { cookieAttributes, type SessionCookie } from './lib/cookie.js'

/** Django's message levels, lowest first. */
export const FLASH_LEVELS = ['debug', 'info', 'success', 'warning', 'error'] as const
export type FlashLevel = (typeof FLASH_LEVELS)[number]

export interface FlashMessage {
  level: FlashLevel
  message: string
}

export interface FlashOptions {
  /** The cookie's name; default `'messages'`, as Django's. */
  cookieName?: string
  /** Pending messages older than this many seconds are dropped unread. Default 3600. */
  maxAge?: number
}

export interface FlashCookies {
  readonly cookieName: string
  /** The messages in a cookie value; `[]` for a missing, forged, expired or garbled one. Never throws. */
  read(value: string | null | undefined): Promise<FlashMessage[]>
  /**
   * The cookie carrying `messages`, with the session cookie's attributes and no Max-Age (it ends with the
   * browser). Throws `SessionTooLarge` when it would not fit in a cookie: a message is never dropped silently.
   */
  write(messages: readonly FlashMessage[]): Promise<SessionCookie>
  /** The cookie that removes the pending messages from the browser. */
  deletion(): SessionCookie
}

/** Checks one message as `add()` receives it, so a typo in a level fails where it was made. */
export function flashMessage(level: FlashLevel, message: string): FlashMessage {
  if (!FLASH_LEVELS.includes(level)) {
    throw new TypeError(`flash: the level must be one of ${FLASH_LEVELS.join(', ')}. Received ${JSON.stringify(level)}.`)
  }
  if (typeof message !== 'string' || message === '') throw new TypeError('flash: the message must be a non-empty string.')
  return { level, message }
}

function isMessage(value: unknown): value is FlashMessage {
  const m = value as FlashMessage
  return typeof m === 'object' && m !== null && FLASH_LEVELS.includes(m.level) && typeof m.message === 'string'
}

/**
 * The signed cookie that carries pending messages from the request that made them to the page that shows them.
 *
 * @example
 * ```ts
 * const cookies = flashCookies(store.settings)
 * const cookie = await cookies.write([{ level: 'success', message: 'Saved' }])
 * const messages = await cookies.read(cookie.value)
 * ```
 */
export function flashCookies(settings: SessionSettings, options: FlashOptions = {}): FlashCookies {
  const cookieName = options.cookieName ?? 'messages'
  const maxAge = options.maxAge ?? 3600
  const signing = djangoSigning({ secret: settings.secret, fallbacks: settings.secretFallbacks, salt: 'edge-session.flash' })
  const attributes = cookieAttributes({ ...settings, cookieName })
  // Counted as if it carried Max-Age and Expires too: a few bytes of margin, one size rule for every cookie.
  const fits = cookieSizeCheck({ ...settings, cookieName })
  return {
    cookieName,
    async read(value) {
      if (!value) return []
      const result = await signing.loads(value, { maxAge })
      return result.ok && Array.isArray(result.value) ? result.value.filter(isMessage) : []
    },
    async write(messages) {
      return { ...attributes, value: fits(await signing.dumps(messages), 0) }
    },
    deletion() {
      return { ...attributes, value: '', maxAge: 0, expires: new Date(0) }
    },
  }
}

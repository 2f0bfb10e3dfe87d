/**
 * Django's expiry arithmetic (`get_expiry_age`, `get_expiry_date`), shared by the session and by the engines
 * that store fields separately: those recompute the age from the stored `_session_expiry` after merging a
 * write (see `SessionWrite.expiryAgeOf`), so a concurrent `asetExpiry` is never undone by a later save.
 *
 * @module
 */
import { SessionExpiryTooLong } from '../errors.js'
import { MAX_COOKIE_AGE } from './settings.js'

export const EXPIRY_KEY = '_session_expiry'
/** The longest expiry a session may have: what browsers keep a cookie (400 days, RFC 6265bis §5.5). */
export const MAX_EXPIRY_AGE = MAX_COOKIE_AGE

/**
 * The only absolute expiries read: ISO 8601 with seconds and an explicit offset, as `Date#toISOString()` writes
 * (and Django's `isoformat()` of an aware datetime). Without an offset the instant depends on the server's time
 * zone, so such a value is garbled, and garbled means expired.
 */
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/

/** A stored absolute expiry as an instant; `null` when it is not one (garbled, no offset, invalid `Date`). */
function expiryInstant(expiry: unknown): Date | null {
  const at = expiry instanceof Date ? expiry : typeof expiry === 'string' && ISO_WITH_OFFSET.test(expiry) ? new Date(expiry) : null
  return at === null || Number.isNaN(at.getTime()) ? null : at
}

/**
 * Seconds from `modification` until expiry. No (or a falsy) expiry: `cookieAge`. A number: itself. An instant:
 * whole seconds floored toward -∞ like Python's timedelta (behaviour 54). Anything else is expired (0), never "forever".
 */
export function expiryAge(expiry: unknown, cookieAge: number, modification: Date): number {
  if (!expiry) return cookieAge
  if (typeof expiry === 'number') return expiry
  const at = expiryInstant(expiry)
  return at === null ? 0 : Math.floor((at.getTime() - modification.getTime()) / 1000)
}

/** The instant the session expires; agrees with `expiryAge`, a garbled expiry included (it expires at `modification`). */
export function expiryDate(expiry: unknown, cookieAge: number, modification: Date): Date {
  if (!expiry) return new Date(modification.getTime() + cookieAge * 1000)
  if (typeof expiry === 'number') return new Date(modification.getTime() + expiry * 1000)
  return expiryInstant(expiry) ?? modification
}

/** Refuses an age past what a browser keeps: thrown by `asetExpiry`, and by engines before they write anything. */
export function checkExpiryAge(seconds: number): void {
  if (seconds > MAX_EXPIRY_AGE) throw new SessionExpiryTooLong(seconds, MAX_EXPIRY_AGE)
}

/**
 * A session's lifetime beyond Django's expiry: an absolute cap counted from login, which no sliding refresh
 * extends, and an idle timeout, which ends a session after so many seconds without a save. Browser-close is
 * Django's own (`expireAtBrowserClose`, `asetExpiry(0)`); the server caps it by these limits too.
 *
 * The core calls two functions, one on load and one on save, so both engines enforce the same rules: the
 * expiry age an engine writes (the cookie's signed `exp`, the Redis TTL) is never past either limit, and a
 * record whose absolute lifetime is over never loads, whatever its own expiry says.
 *
 * For the middleware's throttled refresh: `lifetimeEnd()` says when the absolute cap falls, and
 * `cappedExpiryAge()` is the age a save would write now. `commitSession` gives the cookie that same age as its
 * `Max-Age`, so the browser stops sending a cookie when the server would refuse it.
 *
 * @module
 */
import { SessionConfigError } from '../errors.js'

export interface SessionLifetime {
  /** Seconds from login (or from the session's first save) after which it ends, however active it is. */
  absolute?: number
  /**
   * Seconds without a save after which it ends. A session is saved when it changes, or on each visit with the
   * middleware's `slidingRefresh`: the timeout is exact to within the refresh interval.
   */
  idle?: number
}

/** When the absolute lifetime started, in whole seconds since the epoch. Reset by a login (`alogin`). */
export const STARTED_KEY = '_session_started'

/** Validates the `lifetime` option once, at configuration time. */
export function checkLifetime(value: unknown): SessionLifetime | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'object' || value === null) throw new SessionConfigError('lifetime', 'must be { absolute?: seconds, idle?: seconds }.')
  const lifetime: SessionLifetime = {}
  for (const [name, seconds] of Object.entries(value)) {
    if (name !== 'absolute' && name !== 'idle') throw new SessionConfigError(`lifetime.${name}`, 'is not an option. Known: absolute, idle.')
    if (seconds === undefined) continue
    if (!Number.isInteger(seconds) || (seconds as number) <= 0) {
      throw new SessionConfigError(`lifetime.${name}`, 'must be a positive whole number of seconds.')
    }
    lifetime[name] = seconds as number
  }
  return Object.freeze(lifetime)
}

function started(data: ReadonlyMap<string, unknown> | Readonly<Record<string, unknown>>): number | undefined {
  const value = data instanceof Map ? data.get(STARTED_KEY) : (data as Record<string, unknown>)[STARTED_KEY]
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined
}

/**
 * The instant (ms since the epoch) the absolute lifetime of `data` ends, or `null` when there is no absolute
 * cap or the session has not been saved under one yet.
 */
export function lifetimeEnd(data: ReadonlyMap<string, unknown> | Readonly<Record<string, unknown>>, lifetime: SessionLifetime | undefined): number | null {
  const from = started(data)
  if (lifetime?.absolute === undefined || from === undefined) return null
  return (from + lifetime.absolute) * 1000
}

/** A loaded record whose absolute lifetime is over: the core treats it as missing, whatever the engine's expiry said. */
export function lifetimeEnded(record: Readonly<Record<string, unknown>>, lifetime: SessionLifetime | undefined, now: Date): boolean {
  const end = lifetimeEnd(record, lifetime)
  return end !== null && now.getTime() >= end
}

/**
 * Before a save: starts the absolute lifetime of a session that has none yet. Returns the reserved keys it set,
 * so the core writes them with the rest of the save.
 */
export function stampLifetime(data: Map<string, unknown>, lifetime: SessionLifetime | undefined, now: Date): string[] {
  if (lifetime?.absolute === undefined || started(data) !== undefined) return []
  data.set(STARTED_KEY, Math.floor(now.getTime() / 1000))
  return [STARTED_KEY]
}

/**
 * `expiryAge` (Django's, in seconds) cut down to the idle timeout and to what is left of the absolute lifetime:
 * the age a save writes, so the cookie's signed expiry and the Redis TTL never outlast either limit.
 */
export function cappedExpiryAge(expiryAge: number, data: ReadonlyMap<string, unknown>, lifetime: SessionLifetime | undefined, now: Date): number {
  let age = expiryAge
  if (lifetime?.idle !== undefined) age = Math.min(age, lifetime.idle)
  const end = lifetimeEnd(data, lifetime)
  // Floored like the core's own ages: a session never lives a fraction of a second past its cap.
  if (end !== null) age = Math.min(age, Math.floor((end - now.getTime()) / 1000))
  return age
}

/**
 * Throttled sliding refresh, like Auth.js's `updateAge`: a visit re-issues the session (a new signed cookie,
 * a renewed Redis TTL) only when the last refresh is at least `interval` seconds old, so most page views
 * verify and never sign or write.
 *
 * What it costs in precision: the expiry restarts at each refresh, not at each visit. A session therefore
 * ends between `age − interval` and `age` seconds after the last visit, where `age` is its expiry age (or the
 * idle timeout, `lifetime.idle`, when that is shorter). The absolute lifetime is untouched: a refresh saves
 * through the core, which never writes an expiry past it.
 *
 * The time of the last refresh is kept in the session, under a reserved key, only for sessions the
 * middleware refreshes (about 30 bytes of the cookie).
 *
 * @module
 */
import { SessionConfigError } from '../errors.js'
import { writeReserved, type Session } from './session.js'

/** When the middleware last re-issued this session, in whole seconds since the epoch. */
export const REFRESHED_KEY = '_session_refreshed'
/** The default interval is this fraction of the session's age: Auth.js refreshes 1/30 of its 30 days, Django never throttles. */
const DEFAULT_FRACTION = 10

export interface SlidingRefreshOptions {
  /**
   * Re-issue at most once per this many seconds of a visitor's activity. `0` re-issues on every visit.
   * Default: a tenth of the session's expiry age (or of `lifetime.idle` when shorter), e.g. 33.6 hours
   * for Django's two weeks, 3 minutes for a 30-minute idle timeout.
   */
  interval?: number
}

/** Validates the middleware's `slidingRefresh` option once; `null` when refreshing is off. */
export function checkSlidingRefresh(value: unknown): SlidingRefreshOptions | null {
  if (value === undefined || value === false) return null
  if (value === true) return {}
  const interval = (value as SlidingRefreshOptions | null)?.interval
  if (typeof value !== 'object' || value === null || Object.keys(value).some((k) => k !== 'interval')) {
    throw new SessionConfigError('slidingRefresh', 'must be true, false or { interval: seconds }.')
  }
  if (interval !== undefined && (!Number.isInteger(interval) || interval < 0)) {
    throw new SessionConfigError('slidingRefresh.interval', 'must be a whole number of seconds, 0 or more (0 refreshes on every visit).')
  }
  return Object.freeze({ ...(interval === undefined ? {} : { interval }) })
}

/** The interval for a session whose expiry age is `age` seconds. */
export function refreshInterval(options: SlidingRefreshOptions, age: number, idle: number | undefined): number {
  if (options.interval !== undefined) return options.interval
  const span = idle === undefined ? age : Math.min(age, idle)
  return Math.max(1, Math.floor(span / DEFAULT_FRACTION))
}

/**
 * Marks a loaded, non-empty session for saving when its refresh is due, and says whether it did. A session
 * never refreshed (just signed in, or refreshed by an older version) is due. A stamp in the future (a clock
 * stepped back) is due too: the interval is counted from a time that has not come.
 */
export async function refreshIfDue<T extends object>(session: Session<T>, options: SlidingRefreshOptions, now = new Date()): Promise<boolean> {
  // akeys() loads, so an unknown or tampered key is dropped here (and the cookie deleted by the commit).
  if ((await session.akeys()).length === 0) return false
  const nowSeconds = Math.floor(now.getTime() / 1000)
  const last = await (session as unknown as Session<Record<string, unknown>>).aget(REFRESHED_KEY)
  const interval = refreshInterval(options, await session.agetExpiryAge({ modification: now }), session.settings.lifetime?.idle)
  if (typeof last === 'number' && last <= nowSeconds && nowSeconds - last < interval) return false
  await session[writeReserved](REFRESHED_KEY, nowSeconds)
  return true
}

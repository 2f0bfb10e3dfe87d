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
 * The time of the last refresh is kept in the session, under a reserved key (about 30 bytes of the cookie),
 * for sessions the middleware refreshes and for every write by a Next action or route handler, which counts
 * as a refresh (`stampWrite`, so that a refresh does not re-issue older data over a fresh write).
 *
 * @module
 */
import { SessionConfigError } from '../errors.js'
import { EXPIRY_KEY } from './expiry.js'
import { writeReserved, type Session } from './session.js'

/** When the middleware last re-issued this session, or a Next action or route handler wrote it, in whole seconds since the epoch. */
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

/** The options as the middleware applies them: with the engine's `refreshWithin`, which caps the default interval. */
export interface RefreshPolicy extends SlidingRefreshOptions {
  readonly within?: number
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
export function refreshInterval(options: RefreshPolicy, age: number, idle: number | undefined): number {
  if (options.interval !== undefined) return options.interval
  const span = idle === undefined ? age : Math.min(age, idle)
  const interval = Math.max(1, Math.floor(span / DEFAULT_FRACTION))
  return options.within === undefined ? interval : Math.min(interval, options.within)
}

/**
 * Before an action or route handler writes a session: stamps it as refreshed now, in that same write, so the
 * middleware's refresh is not due again for a whole interval after any write.
 *
 * Why: a refresh re-issues the session as its own request carried it. On the cookie engine the cookie is the
 * session, and the browser keeps the last one it receives; a refresh in flight while an action writes newer
 * data can arrive last and undo that write. Next 16 strips the prefetch headers before the middleware sees a
 * request (vercel/next.js#63728), so a page's link prefetches pass as visits: without this stamp, the links of
 * the page an action has just written (after a login, say) would all be due, and each re-issue the cookie as it
 * was before the next action. A session holding nothing else is left alone: the middleware never refreshes it.
 *
 * What it cannot prevent: a refresh that is due (once per interval, on a session nothing wrote for that long)
 * while a write is in flight can still reach the browser last. The cookie engine is last-writer-wins, as
 * Django's signed cookies are on every request with `SESSION_SAVE_EVERY_REQUEST`.
 */
export async function stampWrite<T extends object>(session: Session<T>, now = new Date()): Promise<void> {
  if (!(await session.akeys()).some((key) => key !== REFRESHED_KEY)) return
  const seconds = Math.floor(now.getTime() / 1000)
  if ((await (session as unknown as Session<Record<string, unknown>>).aget(REFRESHED_KEY)) === seconds) return
  await session[writeReserved](REFRESHED_KEY, seconds)
}

/**
 * Marks a loaded, non-empty session for saving when its refresh is due, and says whether it did. A session
 * never stamped (written outside a Next action or route handler, e.g. by a script or `mintSessionCookie`, or by
 * an older version) is due. A stamp in the future (a clock
 * stepped back) is due too: the interval is counted from a time that has not come.
 */
export async function refreshIfDue<T extends object>(session: Session<T>, options: RefreshPolicy, now = new Date()): Promise<boolean> {
  // akeys() loads, so an unknown or tampered key is dropped here (and the cookie deleted by the commit).
  const keys = await session.akeys()
  if (keys.length === 0) return false
  const nowSeconds = Math.floor(now.getTime() / 1000)
  const last = await (session as unknown as Session<Record<string, unknown>>).aget(REFRESHED_KEY)
  // Without an expiry of its own the age is cookieAge: one await (three promises) less on every visit, ~1 µs in a
  // bare EdgeVM with AsyncLocalStorage on, as Next runs middleware (its async hooks see every promise).
  const age = keys.includes(EXPIRY_KEY) ? await session.agetExpiryAge({ modification: now }) : session.settings.cookieAge
  const interval = refreshInterval(options, age, session.settings.lifetime?.idle)
  if (typeof last === 'number' && last <= nowSeconds && nowSeconds - last < interval) return false
  await session[writeReserved](REFRESHED_KEY, nowSeconds)
  return true
}

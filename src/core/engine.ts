import type { SessionSettings } from './settings.js'

/**
 * What `load` returns for a key that a key cycle (a login, `acycleKey()`) moved away from lately, instead of
 * `null`. Its browser has another request in flight that was sent with the old cookie before the login's response
 * arrived: that request must not answer with a deletion cookie, which, arriving after the login's, would sign the
 * browser out (Django sends one; edge-session does not, see the README's differences). The old key loads no
 * data either way. `Symbol.for`, so two copies of the package in one app agree on it.
 */
export const KEY_CYCLED: unique symbol = Symbol.for('edge-session.key-cycled')

/**
 * How long, in seconds, an engine that marks cycled keys answers `KEY_CYCLED` for the old key: longer than any
 * request sent before a login's response could still be running. A marker holds no data and grants nothing.
 */
export const KEY_CYCLED_SECONDS = 300

/**
 * What the core hands an engine to persist. `data` is the whole session; `changed`,
 * `deleted` and `replace` say what differs from the stored record, so an engine that
 * stores fields separately can write only those and leave a concurrent request's
 * other fields alone.
 */
export interface SessionWrite {
  /** Every key and value the session holds now, in insertion order. */
  readonly data: ReadonlyMap<string, unknown>
  /**
   * Keys whose value differs from the stored record: set since the record was loaded or last saved, or changed
   * in place (the core compares each value handed out with its serialized form as loaded). Write them in `data`'s order.
   */
  readonly changed: ReadonlySet<string>
  /**
   * Keys removed since the record was loaded or last saved. A key in both `deleted` and `changed` was removed and
   * set again: remove it first, then write it, so it moves to the end of the order as in a Python dict.
   */
  readonly deleted: ReadonlySet<string>
  /** The stored record must be dropped and rewritten from `data` (after `aclear()`, or for a new record). */
  readonly replace: boolean
  /**
   * Whole seconds until the session expires, Django's `get_expiry_age()` at save time, from `data`'s
   * `_session_expiry`. May be ≤ 0: already expired. Never over 400 days (engines refuse more, before writing).
   */
  readonly expiryAge: number
  /**
   * The expiry age for another `_session_expiry` value (as loaded; `undefined` for none). An engine that merges
   * fields into a record whose stored `_session_expiry` differs from `data`'s (a concurrent `asetExpiry` that this
   * write does not touch) must expire the record by this age of the stored value, not by `expiryAge`.
   */
  expiryAgeOf(storedExpiry: unknown): number
}

/**
 * The storage contract, Django's `SessionBase` store methods, async only.
 * An engine knows its storage and nothing of session semantics: those live in the core.
 *
 * Guarantees an engine must give (the conformance suite in `edge-session/testing` checks them):
 * - `load` never throws for a missing, expired, malformed or tampered record: it returns `null`.
 *   It throws `SessionStoreUnavailable` when the store cannot answer: an outage must not look like a logout.
 * - After `cycle(oldKey, …)` or `moveRecord(oldKey, …)`, `load(oldKey)` returns `KEY_CYCLED` for
 *   `KEY_CYCLED_SECONDS` (then `null`), and `save(oldKey, …)`, `exists(oldKey)` and a cycle or move from `oldKey`
 *   treat it as gone. An engine without `cycle` cannot tell, and its `load` returns `null`.
 * - `save(key, write, { mustCreate: true })` writes only if no record holds `key`, else throws `CreateError`.
 * - `save(key, write, { mustCreate: false })` updates only an existing record, else throws `UpdateError`,
 *   so a session deleted by a concurrent request is never brought back.
 * - `save` refuses a `write.expiryAge` over 400 days with `SessionExpiryTooLong` before writing anything.
 * - `save` returns the key the record now lives under: the same key for a server-side store,
 *   the new signed value for a cookie engine (whose "key" is the data itself).
 * - `delete` of a missing key is not an error.
 */
export interface SessionEngine {
  /**
   * `true` when the key is the record itself (a signed cookie): every save issues a new key the browser must get,
   * so a save marks the session modified, as Django's `signed_cookies` `save()` does.
   */
  readonly keyHoldsData?: boolean
  /**
   * `true` when every save writes `write.data` whole, ignoring `changed` and `deleted` (a signed cookie). The core
   * then keeps no copy of the values it hands out to find those changed in place, so reads cost nothing more.
   * Leave it unset for an engine that writes only what changed, or nested changes made in place would be lost.
   */
  readonly writesWholeRecord?: boolean
  /**
   * `true` when `save` and `cycle` ignore the key they are given and return one made from the data (a signed cookie,
   * as Django's `signed_cookies` `create()` draws none): the core then draws no random key for a new session and
   * passes `''`. Leave it unset for an engine, or a wrapper, that stores or tracks sessions under that key.
   */
  readonly makesOwnKey?: boolean
  /**
   * Seconds: the middleware's sliding refresh re-issues at least this often by default (an explicit
   * `slidingRefresh.interval` wins). A snapshot engine sets half its `maxAge`, so that an active visitor's snapshot
   * stays fresh and a page keeps reading it with no request to the store.
   */
  readonly refreshWithin?: number
  load(key: string): Promise<Record<string, unknown> | null | typeof KEY_CYCLED>
  save(key: string, write: SessionWrite, options: { mustCreate: boolean }): Promise<string>
  /**
   * `known`: the session's data as this request had loaded it, when it had (`aflush()` passes it). A hint for an
   * engine that keeps state derived from the record (a user's session index) to update it in the same step. It
   * may differ from the record (changed by this request or another since the load): an engine checks before relying on it.
   */
  delete(key: string, known?: ReadonlyMap<string, unknown>): Promise<void>
  exists(key: string): Promise<boolean>
  /**
   * Create `newKey` holding `write` and make `oldKey` stop loading, in one atomic step. Throws `CreateError`
   * when `newKey` is taken, and `UpdateError` when `oldKey` holds no record any more (a logout won the race:
   * its data must not come back under a new key). Optional: without it the core does `save(newKey, mustCreate)`
   * then `delete(oldKey)`, as Django does, and cannot notice that race; a server-side engine should have it.
   */
  cycle?(oldKey: string, newKey: string, write: SessionWrite): Promise<string>
  /**
   * A load and a `cycle` in one step, for a session not loaded yet (login from an anonymous session): moves the
   * record stored under `oldKey` to `newKey` in the store, atomically, and returns its data, so the data is not
   * sent back to be written. Returns `null`, writing nothing, when `oldKey` holds no record (a logout won: the
   * core then starts an empty session). Throws `CreateError` when `newKey` is taken.
   * `restartAge`: the expiry age in seconds of a session holding no `_session_expiry` of its own, or `null` when it
   * depends on the data (an absolute lifetime). Exactly when it is a number and the record holds no
   * `_session_expiry`, the moved record's expiry restarts at it, as a save's would, and the core counts the session
   * as written; otherwise it keeps its expiry (at least a short grace, so that it outlives the request) until the
   * save that ends the request. Optional: without it the core loads, then calls `cycle`.
   */
  moveRecord?(oldKey: string, newKey: string, restartAge: number | null): Promise<Record<string, unknown> | null>
  /** Removes expired records, for stores that cannot expire them on their own. A no-op elsewhere. */
  clearExpired(): Promise<void>
}

/** Engines that need the settings (secret, cookie attributes) are factories: the core calls them once. */
export type EngineFactory = (settings: SessionSettings) => SessionEngine

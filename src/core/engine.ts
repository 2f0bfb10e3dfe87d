import type { SessionSettings } from './settings.js'

/**
 * What the core hands an engine to persist. `data` is the whole session; `changed`,
 * `deleted` and `replace` say what differs from the stored record, so an engine that
 * stores fields separately can write only those and leave a concurrent request's
 * other fields alone.
 */
export interface SessionWrite {
  /** Every key and value the session holds now, in insertion order. */
  readonly data: ReadonlyMap<string, unknown>
  /** Keys set since the record was loaded or last saved. */
  readonly changed: ReadonlySet<string>
  /** Keys removed since the record was loaded or last saved. */
  readonly deleted: ReadonlySet<string>
  /** The stored record must be dropped and rewritten from `data` (after `aclear()`, or for a new record). */
  readonly replace: boolean
  /** Whole seconds until the session expires, Django's `get_expiry_age()` at save time. May be ≤ 0: already expired. */
  readonly expiryAge: number
}

/**
 * The storage contract, Django's `SessionBase` store methods, async only.
 * An engine knows its storage and nothing of session semantics: those live in the core.
 *
 * Guarantees an engine must give (the conformance suite in `edge-session/testing` checks them):
 * - `load` never throws for a missing, expired, malformed or tampered record: it returns `null`.
 *   It throws `SessionStoreUnavailable` when the store cannot answer: an outage must not look like a logout.
 * - `save(key, write, { mustCreate: true })` writes only if no record holds `key`, else throws `CreateError`.
 * - `save(key, write, { mustCreate: false })` updates only an existing record, else throws `UpdateError`,
 *   so a session deleted by a concurrent request is never brought back.
 * - `save` returns the key the record now lives under: the same key for a server-side store,
 *   the new signed value for a cookie engine (whose "key" is the data itself).
 * - `delete` of a missing key is not an error.
 */
export interface SessionEngine {
  load(key: string): Promise<Record<string, unknown> | null>
  save(key: string, write: SessionWrite, options: { mustCreate: boolean }): Promise<string>
  delete(key: string): Promise<void>
  exists(key: string): Promise<boolean>
  /**
   * Optional: create `newKey` holding `write` and make `oldKey` stop loading in one atomic step.
   * Without it the core does `save(newKey, mustCreate)` then `delete(oldKey)`, as Django does.
   * Throws `CreateError` when `newKey` is taken.
   */
  cycle?(oldKey: string, newKey: string, write: SessionWrite): Promise<string>
  /** Removes expired records, for stores that cannot expire them on their own. A no-op elsewhere. */
  clearExpired(): Promise<void>
}

/** Engines that need the settings (secret, cookie attributes) are factories: the core calls them once. */
export type EngineFactory = (settings: SessionSettings) => SessionEngine

/**
 * A snapshot in front of a server-side engine (Upstash): Django's `cached_db`, with the cache in the browser.
 * The session cookie carries the store's key and, after a `.`, a short-lived signed copy of the session
 * (a signed-cookie-engine token under keys of its own). A request whose snapshot is fresh loads it with no
 * network call; a stale, missing or foreign snapshot falls back to the store. Every write goes to the store
 * first and then re-issues the snapshot; data too large for a cookie simply gets none.
 *
 * What it costs in safety, exactly: a logout *in another browser* (or "sign out other devices", or an
 * admin deleting the session) ends the session in the store at once, but a copy of a cookie taken before
 * still loads from its snapshot for at most `maxAge` seconds after the snapshot was issued. A logout in
 * the same browser deletes the cookie, snapshot included, at once. A snapshot may also miss a change made
 * by a concurrent request for up to `maxAge`. Keep `maxAge` short; `0` turns snapshots off.
 *
 * Exported from `edge-session/snapshot`.
 *
 * @module
 */
import { KEY_CYCLED, type EngineFactory, type SessionEngine, type SessionWrite } from '../core/engine.js'
import type { SessionSettings } from '../core/settings.js'
import { cookieEngine, cookieSizeCheck } from '../engines/cookie.js'
import { SessionConfigError, SessionTooLarge } from '../errors.js'
import { hasUserIndex } from '../users/contract.js'

export interface SnapshotOptions {
  /**
   * Seconds a snapshot is trusted after it was issued: the longest a copied cookie outlives a logout made
   * elsewhere. `0` turns snapshots off (the engine is returned unchanged). Default 30.
   */
  maxAge?: number
}

/** The store key the snapshot belongs to, inside the signed snapshot: a snapshot never loads for another key. */
const OWNER_KEY = '_snapshot_of'
const DEFAULT_MAX_AGE = 30

/**
 * Wraps a server-side engine (e.g. `upstashEngine()`) so each session cookie also carries a snapshot.
 *
 * @example
 * ```ts
 * const store = createSessionStore({ engine: withSnapshot(upstashEngine(), { maxAge: 30 }) })
 * ```
 */
export function withSnapshot(inner: EngineFactory, options: SnapshotOptions = {}): EngineFactory {
  const maxAge = options.maxAge ?? DEFAULT_MAX_AGE
  if (!Number.isInteger(maxAge) || maxAge < 0) {
    throw new SessionConfigError('snapshot.maxAge', 'must be a whole number of seconds, 0 or more (0 turns snapshots off).')
  }
  return (settings) => {
    const store = inner(settings)
    if (maxAge === 0) return store
    if (store.keyHoldsData) throw new SessionConfigError('engine', 'already keeps the session in the cookie: a snapshot is for server-side engines (Upstash).')
    const snapshots = cookieEngine()(snapshotSettings(settings))
    // The whole Set-Cookie header against the 4096-byte limit, by the cookie engine's own rule.
    const fits = cookieSizeCheck(settings)

    /** `storeKey.token` (a store key never holds a `.`), or a bare store key. */
    const split = (key: string): [storeKey: string, token: string | null] => {
      const dot = key.indexOf('.')
      return dot === -1 ? [key, null] : [key.slice(0, dot), key.slice(dot + 1)]
    }

    /** The cookie value for `storeKey` after `write`: with a fresh snapshot when one fits. */
    async function issue(storeKey: string, write: SessionWrite): Promise<string> {
      const data = new Map(write.data)
      data.set(OWNER_KEY, storeKey)
      const age = Math.min(maxAge, write.expiryAge)
      if (age <= 0) return storeKey
      try {
        const token = await snapshots.save('', { ...write, data, changed: new Set(data.keys()), deleted: new Set(), replace: true, expiryAge: age }, { mustCreate: true })
        // Max-Age is the session's, not the snapshot's.
        return fits(`${storeKey}.${token}`, write.expiryAge)
      } catch (err) {
        if (err instanceof SessionTooLarge) return storeKey
        throw err
      }
    }

    /** The data of `token` when it is a fresh snapshot of `storeKey`'s session (without its owner mark), else `null`. */
    async function snapshotOf(storeKey: string, token: string): Promise<Record<string, unknown> | null> {
      const snapshot = await snapshots.load(token)
      // KEY_CYCLED never comes from the cookie engine (it has no cycle); its type allows it.
      if (snapshot === null || snapshot === KEY_CYCLED || snapshot[OWNER_KEY] !== storeKey) return null
      delete snapshot[OWNER_KEY]
      return snapshot
    }

    const engine: SessionEngine = {
      // Each save issues a new cookie value (a new snapshot): the browser must get it.
      keyHoldsData: true,
      // A snapshot is issued only by a save: a sliding refresh at least this often keeps an active visitor's fresh.
      refreshWithin: Math.max(1, Math.floor(maxAge / 2)),
      // The path of every gated page: no array destructuring here (Next's edge sandbox makes it ~8× slower than
      // indexing, measured in a bare EdgeVM).
      async load(key) {
        const dot = key.indexOf('.')
        if (dot === -1) return store.load(key)
        const storeKey = key.slice(0, dot)
        return (await snapshotOf(storeKey, key.slice(dot + 1))) ?? store.load(storeKey)
      },
      async save(key, write, saveOptions) {
        const storeKey = await store.save(split(key)[0], write, saveOptions)
        return issue(storeKey, write)
      },
      async delete(key, known) {
        const [storeKey, token] = split(key)
        // Not loaded by this request: a fresh snapshot tells the store what it holds (the user to unindex) for free.
        const snapshot = known === undefined && token !== null ? await snapshotOf(storeKey, token) : null
        const hint = snapshot ? new Map(Object.entries(snapshot)) : known
        await store.delete(storeKey, hint)
      },
      async exists(key) {
        return store.exists(split(key)[0])
      },
      async clearExpired() {
        await store.clearExpired()
      },
    }
    if (store.cycle) {
      const cycle = store.cycle.bind(store)
      engine.cycle = async (oldKey, newKey, write) => issue(await cycle(split(oldKey)[0], newKey, write), write)
    }
    // A user's sessions (src/users/) stay available: the index knows a session by its store key, not the snapshot.
    if (hasUserIndex(store)) {
      const { users } = store
      return { ...engine, users: { ...users, sessionId: (key: string) => users.sessionId(split(key)[0]) } }
    }
    return engine
  }
}

/**
 * The snapshot's signing keys must be its own: derived from secrets no other part of edge-session derives from,
 * so a snapshot never loads as a signed-cookie session, nor a signed-cookie session as a snapshot.
 */
function snapshotSettings(settings: SessionSettings): SessionSettings {
  const own = (secret: string) => `${secret}\u0000edge-session/snapshot`
  return { ...settings, secret: own(settings.secret), secretFallbacks: settings.secretFallbacks.map(own) }
}

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
import type { EngineFactory, SessionEngine, SessionWrite } from '../core/engine.js'
import type { SessionSettings } from '../core/settings.js'
import { COOKIE_SIZE_LIMIT, cookieEngine } from '../engines/cookie.js'
import { SessionConfigError, SessionTooLarge } from '../errors.js'
import { cookieAttributes, serializeCookie } from '../lib/cookie.js'
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
    // The Set-Cookie header without its value and Max-Age digits: constant, so measured once.
    const overhead = serializeCookie({ ...cookieAttributes(settings), value: '', maxAge: 0, expires: new Date(0) }).length

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
      let token: string
      try {
        token = await snapshots.save('', { ...write, data, changed: new Set(data.keys()), deleted: new Set(), replace: true, expiryAge: age }, { mustCreate: true })
      } catch (err) {
        if (err instanceof SessionTooLarge) return storeKey
        throw err
      }
      const value = `${storeKey}.${token}`
      // The whole header as the browser will see it; Max-Age is the session's, not the snapshot's.
      return overhead + value.length + String(write.expiryAge).length > COOKIE_SIZE_LIMIT ? storeKey : value
    }

    const engine: SessionEngine = {
      // Each save issues a new cookie value (a new snapshot): the browser must get it.
      keyHoldsData: true,
      async load(key) {
        const [storeKey, token] = split(key)
        if (token !== null) {
          const snapshot = await snapshots.load(token)
          if (snapshot && snapshot[OWNER_KEY] === storeKey) {
            delete snapshot[OWNER_KEY]
            return snapshot
          }
        }
        return store.load(storeKey)
      },
      async save(key, write, saveOptions) {
        const storeKey = await store.save(split(key)[0], write, saveOptions)
        return issue(storeKey, write)
      },
      async delete(key) {
        await store.delete(split(key)[0])
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

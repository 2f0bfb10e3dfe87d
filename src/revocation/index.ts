/**
 * Revocable signed-cookie sessions. A cookie session bound to a user (`alogin`) carries a session id; the
 * revocation store keeps each user's live session ids with their expiry, and a bound cookie loads only while its
 * id is live there. Ending a session (logout, a new key, "sign out other devices") removes its id, so every copy
 * of its cookie stops loading at once, in every process: the check runs on every load, after the cookie engine's
 * verified-cookie cache, which remembers signatures, never liveness.
 *
 * Costs: one store request to load a bound cookie, one to save it (the entry's expiry and "last seen"), one to
 * end it. A cookie not bound to a user (an anonymous visitor) costs nothing and is not revocable.
 * Store outage: `SessionStoreUnavailable`, as for the Upstash engine; a bound cookie never loads unchecked.
 *
 * @module
 */
import { KEY_CYCLED, type SessionEngine, type SessionWrite } from '../core/engine.js'
import { DEVICE_KEY, USER_ID_KEY, type EndWhich, type UserIndexedEngine, type UserSessionEntry } from '../users/contract.js'
import { UpdateError } from '../errors.js'

/** The session id inside a bound cookie: what the revocation store lists and ends. */
export const SESSION_ID_KEY = '_session_id'

/** Where the cookie engine asks whether a signed-in cookie still counts. `upstashRevocation()` is one. */
export interface RevocationStore {
  /**
   * Whether session `sessionId` of `userId` is live (saved, not ended, not expired). One request. `'cycled'`: not
   * live, because `endCycled` ended it within the last `KEY_CYCLED_SECONDS` (stores without `endCycled` never say it).
   */
  isLive(userId: string, sessionId: string): Promise<boolean | 'cycled'>
  /**
   * Ends a session that a key cycle replaced (login, password change), remembering that for `KEY_CYCLED_SECONDS`
   * so that the browser's requests still in flight with the old cookie do not sign it out (see `KEY_CYCLED`).
   * `UpdateError`, ending nothing, when it was not live (a logout won). Optional: without it, a cycle calls `end`.
   */
  endCycled?(userId: string, sessionId: string): Promise<void>
  /**
   * Records a save of a bound cookie expiring at `expires` (ms). `create`: a new session (`CreateError` if the id
   * is live already). `update`: `UpdateError` if the session was ended meanwhile, so a save racing a logout never
   * brings it back.
   */
  track(userId: string, sessionId: string, entry: { expires: number; label: string | null }, mode: 'create' | 'update'): Promise<void>
  list(userId: string): Promise<UserSessionEntry[]>
  end(userId: string, which: EndWhich): Promise<void>
}

/**
 * Tokens this process sealed lately, with their session ids. The id is added to a copy of the data, not to the
 * session's own, so the saves that follow a key change in the same request (login: cycle, then `aset`) find it
 * here instead of verifying the token they were just given.
 */
const ISSUED_SIZE = 256

interface Binding {
  userId: string
  sessionId: string | null
}

function binding(record: Readonly<Record<string, unknown>> | ReadonlyMap<string, unknown> | null | typeof KEY_CYCLED): Binding | null {
  if (record === KEY_CYCLED) return null
  const get = (key: string): unknown => (record instanceof Map ? record.get(key) : (record as Record<string, unknown> | null)?.[key])
  const userId = get(USER_ID_KEY)
  if (typeof userId !== 'string') return null
  const sessionId = get(SESSION_ID_KEY)
  return { userId, sessionId: typeof sessionId === 'string' ? sessionId : null }
}

/**
 * The cookie engine with revocation: `cookieEngine({ revocation })` returns this around itself.
 * Exported for engines of your own whose tokens carry their data (a JWT engine, say).
 */
export function revocable(engine: SessionEngine, store: RevocationStore): UserIndexedEngine {
  const issued = new Map<string, string>()
  const remember = (token: string, sessionId: string): void => {
    if (issued.size >= ISSUED_SIZE) issued.delete(issued.keys().next().value!)
    issued.set(token, sessionId)
  }
  /** The binding of a token as sealed (signature and expiry checked), without asking the store. */
  const sealedBinding = async (token: string): Promise<Binding | null> => binding(await engine.load(token))

  const save: SessionEngine['save'] = async (key, write, options) => {
    const bound = binding(write.data)
    if (!bound) {
      const token = await engine.save(key, write, options)
      // A session unbound in place (aclear() and a save): its earlier cookie still names the user, so it ends.
      const before = options.mustCreate ? null : await sealedBinding(key)
      if (before?.sessionId) await store.end(before.userId, { ids: [before.sessionId] })
      return token
    }
    // A new record (login, a new key) is a new session id, so ending the old key's id leaves the new one live.
    // On a create the core's fresh random key serves as the id; it is never used as a cookie here.
    // On an update, the id is the one sealed in the token saved over: the data's own is that of the token it was
    // loaded from, which a key cycle since then has ended.
    const sessionId = options.mustCreate ? key : (issued.get(key) ?? (await sealedBinding(key))?.sessionId ?? bound.sessionId)
    if (!sessionId) throw new UpdateError()
    const data = new Map(write.data).set(SESSION_ID_KEY, sessionId)
    const withId: SessionWrite = { ...write, data, changed: new Set(write.changed).add(SESSION_ID_KEY) }
    // Sealed first: a session too large for a cookie leaves no entry behind.
    const token = await engine.save(key, withId, options)
    const label = write.data.get(DEVICE_KEY)
    await store.track(
      bound.userId,
      sessionId,
      { expires: Date.now() + write.expiryAge * 1000, label: typeof label === 'string' ? label : null },
      options.mustCreate ? 'create' : 'update',
    )
    remember(token, sessionId)
    return token
  }

  return {
    ...engine,
    // A new session's id is the core's fresh random key (see save), so the core must draw one.
    makesOwnKey: false,
    async load(token) {
      const record = await engine.load(token)
      const bound = binding(record)
      if (!bound) return record
      // A bound cookie without an id predates revocation: it cannot be ended, so it no longer counts.
      if (bound.sessionId === null) return null
      const live = await store.isLive(bound.userId, bound.sessionId)
      if (live === 'cycled') return KEY_CYCLED
      return live === true ? record : null
    },
    save,
    // A new key for a loaded session: the new session first, as Django's cycle_key() creates before it deletes;
    // then the old one ends as cycled, unless a logout ended it first, which undoes the new one.
    async cycle(oldKey, newKey, write) {
      const token = await save(newKey, write, { mustCreate: true })
      const before = await sealedBinding(oldKey)
      if (!before?.sessionId) return token
      try {
        if (store.endCycled) await store.endCycled(before.userId, before.sessionId)
        else await store.end(before.userId, { ids: [before.sessionId] })
      } catch (err) {
        if (!(err instanceof UpdateError)) throw err
        // A created bound session's id is its key (see save).
        const after = binding(write.data)
        if (after) await store.end(after.userId, { ids: [newKey] })
        throw err
      }
      await engine.delete(oldKey)
      return token
    },
    async delete(token) {
      const bound = await sealedBinding(token)
      if (bound?.sessionId) await store.end(bound.userId, { ids: [bound.sessionId] })
      await engine.delete(token)
    },
    users: {
      sessionId: async (token) => (await sealedBinding(token))?.sessionId ?? null,
      list: (userId) => store.list(userId),
      end: (userId, which) => store.end(userId, which),
    },
  }
}

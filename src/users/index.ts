/**
 * A user's sessions: bind a session to a user at login (Django's `login()`, which keeps `_auth_user_id`),
 * list the user's live sessions, end one, end the others, end all, and end the others at a password change
 * (Django's `update_session_auth_hash()`). Works on every engine that keeps a per-user index: the Upstash engine,
 * and the cookie engine with a revocation store.
 *
 * Exported from `edge-session/users` and `edge-session`.
 *
 * @module
 */
import { STARTED_KEY } from '../core/lifetime.js'
import { writeReserved, type Session, type SessionData } from '../core/session.js'
import type { SessionEngine } from '../core/engine.js'
import { SessionConfigError } from '../errors.js'
import { DEVICE_KEY, USER_ID_KEY, hasUserIndex, type UserSessionEntry, type UserSessionIndex } from './contract.js'

export { USER_ID_KEY, DEVICE_KEY, hasUserIndex } from './contract.js'
export { deviceLabel } from './device.js'
export type { UserSessionEntry, UserSessionIndex, UserIndexedEngine, EndWhich } from './contract.js'

/** Labels are for people reading a table; anything longer is cut here rather than stored in every save. */
const MAX_LABEL_LENGTH = 100

export interface LoginOptions {
  /** Shown in the session list, e.g. "Firefox on Linux" from the User-Agent. Cut to 100 characters. */
  label?: string
}

/** A row of `alist()`: an index entry, plus whether it is the session asking. */
export interface UserSession extends UserSessionEntry {
  /** This is the session `alist()` was called with: "this device". */
  current: boolean
}

export interface UserSessions {
  /**
   * Django's `login()`: binds `session` to `userId` and gives it a new key (against session fixation), which
   * also starts its absolute lifetime. A session bound to another user is flushed first, so nothing of theirs
   * carries over. The app stores whatever else it wants (`aset('user', …)`) as usual.
   */
  alogin(session: Session<object>, userId: string | number, options?: LoginOptions): Promise<void>
  /** The user the session is bound to, or `null`. */
  agetUserId(session: Session<object>): Promise<string | null>
  /** The signed-in user's live sessions, oldest first, with `current` marking this one; `[]` when signed out. */
  alist(session: Session<object>): Promise<UserSession[]>
  /** Ends one of the signed-in user's sessions by its `id` from `alist()`; ending this one is `aflush()`. */
  aend(session: Session<object>, id: string): Promise<void>
  /** "Sign out other devices": ends every session of the user but this one. */
  aendOthers(session: Session<object>): Promise<void>
  /** "Log out everywhere": ends every session of the user, this one included. */
  aendAll(session: Session<object>): Promise<void>
  /**
   * Django's `update_session_auth_hash()`, to call after a password change: this session gets a new key and
   * stays signed in; every other session of the user ends, in one call.
   */
  aupdateSessionAuthHash(session: Session<object>): Promise<void>
  /** For administrators and account deletion: ends every session of `userId`. */
  aendAllForUser(userId: string | number): Promise<void>
}

function userIdString(userId: unknown): string {
  if ((typeof userId === 'string' && userId !== '') || (typeof userId === 'number' && Number.isSafeInteger(userId))) return String(userId)
  throw new TypeError('The user id must be a non-empty string or a whole number (Django stores str(user.pk)).')
}

/** Reserved keys are readable like any other; only writing them is kept to edge-session. */
async function read(session: Session<object>, key: string): Promise<unknown> {
  return (session as unknown as Session<SessionData>).aget(key)
}

/**
 * The user-session calls for a store whose engine keeps a per-user index.
 *
 * @example
 * ```ts
 * // lib/session.ts
 * export const { getSession, sessionMiddleware, store } = createNextSession({ engine: upstashEngine() })
 * export const users = userSessions(store)
 *
 * // app/actions.ts, at login
 * await users.alogin(await getSession(), user.id, { label: deviceLabel((await headers()).get('user-agent')) })
 * ```
 */
export function userSessions(store: { readonly engine: SessionEngine }): UserSessions {
  const { engine } = store
  if (!hasUserIndex(engine)) {
    throw new SessionConfigError(
      'engine',
      'keeps no per-user session index. Use upstashEngine(), or cookieEngine({ revocation: upstashRevocation() }).',
    )
  }
  const index: UserSessionIndex = engine.users

  const agetUserId = async (session: Session<object>): Promise<string | null> => {
    const value = await read(session, USER_ID_KEY)
    return typeof value === 'string' ? value : null
  }
  const currentId = async (session: Session<object>): Promise<string | null> =>
    session.sessionKey === null ? null : index.sessionId(session.sessionKey)

  return {
    agetUserId,
    async alogin(session, userId, options = {}) {
      const id = userIdString(userId)
      const bound = await agetUserId(session)
      if (bound !== null && bound !== id) await session.aflush()
      await session[writeReserved](USER_ID_KEY, id)
      await session[writeReserved](DEVICE_KEY, typeof options.label === 'string' && options.label !== '' ? options.label.slice(0, MAX_LABEL_LENGTH) : undefined)
      // Removed so the save below stamps it afresh: the absolute lifetime runs from login.
      await session[writeReserved](STARTED_KEY, undefined)
      await session.acycleKey()
    },
    async alist(session) {
      const userId = await agetUserId(session)
      if (userId === null) return []
      const [entries, current] = await Promise.all([index.list(userId), currentId(session)])
      return entries.map((entry) => ({ ...entry, current: entry.id === current }))
    },
    async aend(session, id) {
      const userId = await agetUserId(session)
      if (userId === null) return
      if (id === (await currentId(session))) return session.aflush()
      await index.end(userId, { ids: [id] })
    },
    async aendOthers(session) {
      const userId = await agetUserId(session)
      if (userId === null) return
      await index.end(userId, { allExcept: await currentId(session) })
    },
    async aendAll(session) {
      const userId = await agetUserId(session)
      if (userId !== null) await index.end(userId, { allExcept: null })
      await session.aflush()
    },
    async aupdateSessionAuthHash(session) {
      const userId = await agetUserId(session)
      if (userId === null) return
      await session.acycleKey()
      await index.end(userId, { allExcept: await currentId(session) })
    },
    // async: a bad id rejects the promise like every other failure here, instead of throwing before one exists.
    aendAllForUser: async (userId) => index.end(userIdString(userId), { allExcept: null }),
  }
}

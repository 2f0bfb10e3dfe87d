/**
 * What an engine offers for a user's sessions: the per-user index behind "list my devices", "sign out other
 * devices" and "log out everywhere". The Upstash engine keeps it in the same atomic scripts that save, cycle and
 * delete sessions; the cookie engine keeps it in its revocation store (src/revocation/).
 *
 * @module
 */
import type { SessionEngine } from '../core/engine.js'

/** The session holds the id of the user it belongs to under Django's own key (`django.contrib.auth`'s SESSION_KEY). */
export const USER_ID_KEY = '_auth_user_id'
/** The device label the app passed at login ("Firefox on Linux"), shown in the session list. */
export const DEVICE_KEY = '_auth_device'

/** One of a user's live sessions, as the index lists it. */
export interface UserSessionEntry {
  /** Stable for the session's key: pass it to end that session. Not a credential: it cannot be used as a cookie. */
  id: string
  /** When the session was signed in. */
  created: Date
  /** Its last save: the last visit, to within the middleware's refresh interval. */
  lastSeen: Date
  /** When it ends unless it is used again (or when its absolute lifetime runs out). */
  expires: Date
  /** The label the app passed at login, or `null`. */
  label: string | null
}

/** Which of a user's sessions to end: these ids (ids the user does not own are ignored), or every one but `allExcept`. */
export type EndWhich = { ids: readonly string[] } | { allExcept: string | null }

export interface UserSessionIndex {
  /** The id the index lists the session stored under `sessionKey` by, or `null` if it has none. */
  sessionId(sessionKey: string): Promise<string | null>
  /** The user's live sessions, oldest first. Entries of expired sessions are pruned, never listed. */
  list(userId: string): Promise<UserSessionEntry[]>
  /** Ends sessions of `userId`: a replayed cookie of an ended session loads as an empty session everywhere, at once. */
  end(userId: string, which: EndWhich): Promise<void>
}

/** An engine that keeps a per-user index. */
export interface UserIndexedEngine extends SessionEngine {
  readonly users: UserSessionIndex
}

export function hasUserIndex(engine: SessionEngine): engine is UserIndexedEngine {
  const users = (engine as Partial<UserIndexedEngine>).users
  return typeof users?.list === 'function' && typeof users.end === 'function' && typeof users.sessionId === 'function'
}

/**
 * edge-session: Django's session framework for Next.js and the edge runtime.
 * The framework-free core, the engines that need no extra dependency, and the errors.
 *
 * @module
 */
export { createSessionStore } from './store.js'
export type { SessionStore, SessionStoreOptions } from './store.js'
export { Session, EXPIRY_KEY, TEST_COOKIE_NAME, TEST_COOKIE_VALUE } from './core/session.js'
export type { SessionData, Expiry, ExpiryOptions } from './core/session.js'
export type { SessionEngine, SessionWrite, EngineFactory } from './core/engine.js'
export { KEY_CYCLED, KEY_CYCLED_SECONDS } from './core/engine.js'
export { resolveSettings } from './core/settings.js'
export type { SessionSettings, SessionOptions, SameSite } from './core/settings.js'
export type { SessionLifetime } from './core/lifetime.js'
export { userSessions, deviceLabel, USER_ID_KEY } from './users/index.js'
export type { UserSessions, UserSession, UserSessionEntry, LoginOptions } from './users/index.js'
export { jsonSerializer } from './core/serializer.js'
export type { Serializer, JsonValue } from './core/serializer.js'
export { commitSession } from './core/http.js'
export type { CommitOptions, CommitResult } from './core/http.js'
export { serializeCookie, readCookie } from './lib/cookie.js'
export type { SessionCookie } from './lib/cookie.js'
export { cookieEngine } from './engines/cookie.js'
export type { CookieEngineOptions } from './engines/cookie.js'
export { memoryEngine } from './engines/memory.js'
export type { MemoryEngine } from './engines/memory.js'
export {
  SessionError,
  SessionConfigError,
  SessionKeyError,
  SessionSerializationError,
  SessionReservedKeyError,
  SessionTooLarge,
  SessionExpiryTooLong,
  SessionInterrupted,
  SessionStoreUnavailable,
  SessionReadOnly,
  SessionRequired,
  SessionSchemaMismatch,
  CreateError,
  UpdateError,
} from './errors.js'
export type { AnySessionError } from './errors.js'

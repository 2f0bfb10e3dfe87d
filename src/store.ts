import type { EngineFactory, SessionEngine } from './core/engine.js'
import { Session, type SessionData } from './core/session.js'
import { resolveSettings, type SessionOptions, type SessionSettings } from './core/settings.js'
import { cookieEngine } from './engines/cookie.js'
import { SessionConfigError } from './errors.js'

export interface SessionStoreOptions extends SessionOptions {
  /** Where sessions live. Default: `cookieEngine()`, which needs no service. */
  engine?: SessionEngine | EngineFactory
}

/** A configured engine plus settings: Django's `SessionStore` class, made once per app. */
export interface SessionStore<T extends object = SessionData> {
  readonly settings: SessionSettings
  readonly engine: SessionEngine
  /**
   * A session for `key` (a cookie value), or a new one. Nothing is read until data is touched.
   * `readOnly` sessions refuse every write with `SessionReadOnly`.
   */
  open(key?: string | null, options?: { readOnly?: boolean }): Session<T>
  clearExpired(): Promise<void>
}

/**
 * Validates the options once and binds the engine. Usable anywhere: a request, a script, a job.
 *
 * Exported from `edge-session`.
 *
 * @example
 * ```ts
 * import { createSessionStore } from 'edge-session'
 * const store = createSessionStore({ secret: process.env.SESSION_SECRET })
 * const session = store.open()
 * await session.aset('fav_color', 'blue')
 * await session.asave()
 * const cookieValue = session.sessionKey
 * ```
 */
export function createSessionStore<T extends object = SessionData>(options: SessionStoreOptions = {}): SessionStore<T> {
  const { engine: engineOption, ...rest } = options
  const settings = resolveSettings(rest)
  const engine = typeof engineOption === 'function' ? engineOption(settings) : (engineOption ?? cookieEngine()(settings))
  for (const method of ['load', 'save', 'delete', 'exists', 'clearExpired'] as const) {
    if (typeof engine?.[method] !== 'function') {
      throw new SessionConfigError('engine', `must implement ${method}(): see the SessionEngine interface.`)
    }
  }
  return {
    settings,
    engine,
    open: (key, openOptions) => new Session<T>(engine, settings, key, openOptions),
    clearExpired: () => engine.clearExpired(),
  }
}

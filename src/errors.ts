/**
 * Typed errors. Every error edge-session throws on purpose is a `SessionError`
 * with a stable `code`; switch on `err.code`, never on the message.
 *
 * Exported from `edge-session` and `edge-session/errors`.
 *
 * @module
 */

export class SessionError extends Error {
  static code = 'ERR_SESSION'
  code: string = SessionError.code

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.code = (new.target as typeof SessionError).code
  }
}

/** A configuration option is missing or invalid. Thrown when the configuration is made, never per request. */
export class SessionConfigError extends SessionError {
  static override code = 'ERR_SESSION_CONFIG'
  readonly option: string

  constructor(option: string, message: string) {
    super(`"${option}" ${message}`)
    this.option = option
  }
}

/** `aget`-style access that Django answers with `KeyError`: `adelete`, `apop` and `adeleteTestCookie` of a missing key. */
export class SessionKeyError extends SessionError {
  static override code = 'ERR_SESSION_KEY_MISSING'
  readonly key: string

  constructor(key: string) {
    super(`Session has no key "${key}". Use ahas() first, or pass a default to apop().`)
    this.key = key
  }
}

/** A value the serializer cannot give back exactly as it went in. Nothing was written. */
export class SessionSerializationError extends SessionError {
  static override code = 'ERR_SESSION_NOT_SERIALIZABLE'
  readonly key: string | undefined
  readonly type: string

  constructor(type: string, key?: string, path?: string) {
    const where = key === undefined ? 'A session value' : `Session key "${key}"${path ? ` at ${path}` : ''}`
    super(
      `${where} holds a ${type}, which JSON would not return unchanged. ` +
        'Store plain objects, arrays, strings, finite numbers, booleans or null ' +
        '(e.g. a Date as date.toISOString()), or configure a serializer that supports it.',
    )
    this.key = key
    this.type = type
  }
}

/** Keys beginning with `_` belong to edge-session (Django's rule, behaviour 17). */
export class SessionReservedKeyError extends SessionError {
  static override code = 'ERR_SESSION_RESERVED_KEY'
  readonly key: string

  constructor(key: string) {
    super(`Session key "${key}" is reserved: keys starting with "_" are used by edge-session itself. Choose another name.`)
    this.key = key
  }
}

/** The encoded session does not fit in a cookie. Nothing was written. */
export class SessionTooLarge extends SessionError {
  static override code = 'ERR_SESSION_TOO_LARGE'
  readonly size: number
  readonly limit: number

  constructor(size: number, limit: number) {
    super(
      `The session cookie would be ${size} bytes, over the ${limit}-byte limit browsers keep. ` +
        'Store less in the session (keep ids, not records), or use a server-side engine such as edge-session/upstash.',
    )
    this.size = size
    this.limit = limit
  }
}

/**
 * The session was deleted (logout in a parallel request, expiry) after this request loaded it.
 * Saving would bring it back, so the write is refused. Django's `SessionInterrupted`; answer with a 400.
 */
export class SessionInterrupted extends SessionError {
  static override code = 'ERR_SESSION_INTERRUPTED'

  /** `cycled`: a concurrent request moved the session to a new key (a login) before this one saved it. */
  constructor(options?: { cause?: unknown; cycled?: boolean }) {
    super(
      options?.cycled
        ? "The request's session moved to a new key in a concurrent request (a login or acycleKey()) before this " +
            'request saved it: its changes were not saved, so that the new key stays signed in. Ask the user to retry.'
        : "The request's session was deleted before the request completed. The user may have logged out in a " +
            'concurrent request. Ask the user to retry; do not save the session again.',
      options?.cause === undefined ? undefined : { cause: options.cause },
    )
  }
}

/**
 * An expiry beyond 400 days: browsers drop a cookie's lifetime there (RFC 6265bis §5.5), so the session would
 * outlive its cookie, and stores refuse ages that large. Thrown by `asetExpiry`, and by an engine asked to write one.
 */
export class SessionExpiryTooLong extends SessionError {
  static override code = 'ERR_SESSION_EXPIRY_TOO_LONG'
  readonly seconds: number
  readonly limit: number

  constructor(seconds: number, limit: number) {
    super(`A session expiry of ${seconds} seconds is over the ${limit}-second (400-day) limit browsers keep a cookie. Pass a shorter expiry.`)
    this.seconds = seconds
    this.limit = limit
  }
}

/** The engine's store could not be reached or answered nonsense. The session state is unknown: fail closed. */
export class SessionStoreUnavailable extends SessionError {
  static override code = 'ERR_SESSION_STORE_UNAVAILABLE'

  constructor(detail: string, options?: { cause?: unknown }) {
    super(`The session store is unavailable: ${detail}. Check the store's URL, token and health; the request must not continue as anonymous.`, options)
  }
}

/** A write was attempted on a read-only session (a Next.js server component). */
export class SessionReadOnly extends SessionError {
  static override code = 'ERR_SESSION_READ_ONLY'

  constructor(method: string) {
    super(
      `session.${method}() cannot run here: Next.js lets only server actions, route handlers and middleware set cookies, ` +
        'and a server component renders after the headers are sent. Move the write into a server action or route handler.',
    )
  }
}

/**
 * `requireSession()` refused: the session does not satisfy its `allow` check (e.g. nobody is signed in).
 * Thrown with `loginUrl: false` (otherwise it redirects to the login page); a route handler answers it with 401.
 */
export class SessionRequired extends SessionError {
  static override code = 'ERR_SESSION_REQUIRED'

  constructor() {
    super(
      'This server action or route handler needs a session that passes its allow check, and the request has none. ' +
        'Sign in first. (requireSession() redirects to its loginUrl instead unless loginUrl is false.)',
    )
  }
}

/**
 * A stored session no longer matches the schema the store was given (`withSchema(..., { onInvalid: 'throw' })`),
 * e.g. one written by an older deploy. Carries where it failed, never the data or the validator's messages
 * (which may quote values).
 */
export class SessionSchemaMismatch extends SessionError {
  static override code = 'ERR_SESSION_SCHEMA_MISMATCH'
  /** Where each issue is, as dotted paths (`''` for the whole session). */
  readonly paths: readonly string[]

  constructor(paths: readonly string[]) {
    super(
      `The stored session does not match the session schema (at ${paths.map((p) => p || '(root)').join(', ')}). ` +
        "Migrate the stored shape, or use onInvalid: 'empty' to start such sessions afresh.",
    )
    this.paths = paths
  }
}

export type AnySessionError =
  | SessionConfigError
  | SessionKeyError
  | SessionSerializationError
  | SessionReservedKeyError
  | SessionTooLarge
  | SessionExpiryTooLong
  | SessionInterrupted
  | SessionStoreUnavailable
  | SessionReadOnly
  | SessionRequired
  | SessionSchemaMismatch

/**
 * Engine → core signals, Django's `CreateError` / `UpdateError`. Engines throw them;
 * the core retries a create on a fresh key, and turns an update of a vanished session into `SessionInterrupted`.
 */
export class CreateError extends SessionError {
  static override code = 'ERR_SESSION_KEY_TAKEN'
  constructor() {
    super('A session with this key already exists.')
  }
}

export class UpdateError extends SessionError {
  static override code = 'ERR_SESSION_GONE'
  constructor() {
    super('The session no longer exists in the store.')
  }
}

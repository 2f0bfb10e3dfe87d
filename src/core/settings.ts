import { SessionConfigError } from '../errors.js'
import { checkLifetime, type SessionLifetime } from './lifetime.js'
import type { Serializer } from './serializer.js'
import { jsonSerializer } from './serializer.js'

export type SameSite = 'lax' | 'strict' | 'none' | false

/**
 * Django's `SESSION_*` settings in camelCase, plus the secret. Every field has Django's default
 * except `cookieSecure`, which defaults to `true` when `NODE_ENV=production` (see README, "Where we differ", item 3).
 */
export interface SessionSettings {
  /** `SESSION_COOKIE_NAME`. */
  cookieName: string
  /** `SESSION_COOKIE_AGE`, in seconds. */
  cookieAge: number
  cookiePath: string
  cookieDomain: string | undefined
  cookieSecure: boolean
  cookieHttpOnly: boolean
  cookieSameSite: SameSite
  expireAtBrowserClose: boolean
  saveEveryRequest: boolean
  serializer: Serializer
  /** Current secret: signs everything. Read from `SESSION_SECRET` when not passed. */
  secret: string
  /** Old secrets, accepted when verifying only. Read from `SESSION_SECRET_FALLBACKS` (comma-separated). */
  secretFallbacks: readonly string[]
  /** Absolute and idle limits, enforced by the server in every engine (see src/core/lifetime.ts). Not in Django. */
  lifetime?: SessionLifetime
}

export type SessionOptions = Partial<SessionSettings>

const MIN_SECRET_BYTES = 32
/** RFC 6265bis §5.5: user agents cap Max-Age at 400 days. Also the longest session expiry (src/core/expiry.ts). */
export const MAX_COOKIE_AGE = 400 * 24 * 60 * 60

const defaults: Omit<SessionSettings, 'secret' | 'secretFallbacks' | 'cookieSecure'> = {
  cookieName: 'sessionid',
  cookieAge: 60 * 60 * 24 * 7 * 2,
  cookiePath: '/',
  cookieDomain: undefined,
  cookieHttpOnly: true,
  cookieSameSite: 'lax',
  expireAtBrowserClose: false,
  saveEveryRequest: false,
  serializer: jsonSerializer,
}

const known = new Set<string>([...Object.keys(defaults), 'cookieSecure', 'secret', 'secretFallbacks', 'lifetime'])

/**
 * An environment variable, `undefined` when unset, empty or refused. Never throws: callers look a name up
 * only for an option that was not passed, so a runtime that forbids the read must not stop the app.
 */
export function env(name: string): string | undefined {
  let value: string | undefined
  try {
    // Read through globalThis: `process` does not exist at the edge unless a bundler inlines it.
    value = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name]
  } catch {
    // Deno without --allow-env throws NotCapable on every read; the variable is then as good as unset.
    return undefined
  }
  return value === '' ? undefined : value
}

function isProduction(): boolean {
  return env('NODE_ENV') === 'production'
}

function checkSecret(option: string, secret: unknown): string {
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new SessionConfigError(
      option,
      'is missing. Pass it, or set the SESSION_SECRET environment variable to at least 32 random bytes ' +
        '(e.g. `openssl rand -base64 32`).',
    )
  }
  if (new TextEncoder().encode(secret).length < MIN_SECRET_BYTES) {
    throw new SessionConfigError(option, `must be at least ${MIN_SECRET_BYTES} bytes long. Generate one with \`openssl rand -base64 32\`.`)
  }
  return secret
}

function check(cond: boolean, option: string, message: string): void {
  if (!cond) throw new SessionConfigError(option, message)
}

/** Fills in Django's defaults and validates everything once, so no request ever meets a bad option. */
export function resolveSettings(options: SessionOptions = {}): SessionSettings {
  for (const name of Object.keys(options)) {
    if (!known.has(name)) {
      throw new SessionConfigError(name, `is not an option. Known options: ${[...known].sort().join(', ')}.`)
    }
  }
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as SessionOptions
  const secret = checkSecret('secret', defined.secret ?? env('SESSION_SECRET'))
  const fallbacks =
    defined.secretFallbacks ??
    (env('SESSION_SECRET_FALLBACKS')
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean) ?? [])
  check(Array.isArray(fallbacks), 'secretFallbacks', 'must be an array of strings.')
  fallbacks.forEach((f, i) => checkSecret(`secretFallbacks[${i}]`, f))

  const settings: SessionSettings = {
    ...defaults,
    ...defined,
    // Looked up only when not given: each lookup may be refused, and costs a permission where one is needed.
    cookieSecure: defined.cookieSecure ?? isProduction(),
    secret,
    secretFallbacks: [...fallbacks],
    lifetime: checkLifetime(defined.lifetime),
  }
  if (typeof settings.cookieSameSite === 'string') {
    settings.cookieSameSite = settings.cookieSameSite.toLowerCase() as SameSite
  }
  const { cookieName, cookieAge, cookiePath, cookieDomain, cookieSameSite, cookieSecure } = settings

  // RFC 6265 token characters only: anything else would be mangled or split by the browser.
  check(typeof cookieName === 'string' && /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(cookieName), 'cookieName', 'must be a non-empty RFC 6265 token (letters, digits and !#$%&\'*+-.^_`|~).')
  check(Number.isInteger(cookieAge) && cookieAge > 0, 'cookieAge', 'must be a positive whole number of seconds.')
  check(cookieAge <= MAX_COOKIE_AGE, 'cookieAge', `must be at most ${MAX_COOKIE_AGE} seconds (400 days): browsers cap cookie lifetimes there (RFC 6265bis §5.5).`)
  check(typeof cookiePath === 'string' && cookiePath.startsWith('/') && !/[;\s]/.test(cookiePath), 'cookiePath', 'must start with "/" and contain no ";" or whitespace.')
  check(cookieDomain === undefined || (typeof cookieDomain === 'string' && /^\.?[A-Za-z0-9.-]+$/.test(cookieDomain)), 'cookieDomain', 'must be a host name such as ".example.com", or left out.')
  check(cookieSameSite === false || cookieSameSite === 'lax' || cookieSameSite === 'strict' || cookieSameSite === 'none', 'cookieSameSite', 'must be "lax", "strict", "none" or false.')
  check(!(cookieSameSite === 'none' && !cookieSecure), 'cookieSameSite', 'is "none", which browsers accept only with Secure: set cookieSecure: true, or use "lax".')
  for (const flag of ['cookieSecure', 'cookieHttpOnly', 'expireAtBrowserClose', 'saveEveryRequest'] as const) {
    check(typeof settings[flag] === 'boolean', flag, 'must be true or false.')
  }
  // RFC 6265bis §4.1.3: the browser drops prefixed cookies that break these rules, silently logging everyone out.
  if (cookieName.startsWith('__Secure-') || cookieName.startsWith('__Host-')) {
    check(cookieSecure, 'cookieSecure', `must be true for a cookie named "${cookieName}" (RFC 6265bis §4.1.3).`)
  }
  if (cookieName.startsWith('__Host-')) {
    check(cookiePath === '/' && cookieDomain === undefined, 'cookieName', 'starts with "__Host-", which requires cookiePath "/" and no cookieDomain (RFC 6265bis §4.1.3.2).')
  }
  const s = settings.serializer
  check(typeof s?.dumps === 'function' && typeof s?.loads === 'function', 'serializer', 'must have dumps(value) and loads(text) functions.')
  check(s.validate === undefined || typeof s.validate === 'function', 'serializer', 'has a validate that is not a function.')
  return Object.freeze(settings)
}

/**
 * resolveSettings() at its boundaries: the last value accepted and the first refused, for each option, and what
 * a refusal tells the user (the option named, the code, the rule). Complements the table in test/session.test.ts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { resolveSettings, type SessionOptions } from '../src/index.js'
import { SessionConfigError } from '../src/errors.js'

const SECRET = 'settings validation secret, 32+ bytes'
const DAY = 86400

afterEach(() => vi.unstubAllEnvs())

function refusal(options: Record<string, unknown>): SessionConfigError {
  try {
    resolveSettings({ secret: SECRET, ...options } as SessionOptions)
  } catch (err) {
    expect(err).toBeInstanceOf(SessionConfigError)
    expect(err).toMatchObject({ code: 'ERR_SESSION_CONFIG' })
    return err as SessionConfigError
  }
  throw new Error(`resolveSettings accepted ${JSON.stringify(options)}`)
}

const accepts = (options: Record<string, unknown>) => resolveSettings({ secret: SECRET, ...options } as SessionOptions)

describe('cookieAge', () => {
  it('exactly 400 days is accepted; one second more is refused, saying why (browsers cap cookie lifetimes there)', () => {
    expect(accepts({ cookieAge: 400 * DAY }).cookieAge).toBe(34_560_000)
    const error = refusal({ cookieAge: 400 * DAY + 1 })
    expect(error.option).toBe('cookieAge')
    expect(error.message).toContain('at most 34560000 seconds (400 days)')
  })

  it('1 second is the least; 0, negative and fractional ages are refused as "a positive whole number"', () => {
    expect(accepts({ cookieAge: 1 }).cookieAge).toBe(1)
    for (const cookieAge of [0, -1, 0.5, Number.NaN, '60']) {
      const error = refusal({ cookieAge })
      expect(error.option).toBe('cookieAge')
      expect(error.message).toContain('positive whole number of seconds')
    }
  })
})

describe('serializer', () => {
  const dumps = (value: unknown) => JSON.stringify(value)
  const loads = (text: string) => JSON.parse(text) as unknown

  it('needs both dumps and loads: either one alone is refused, naming both', () => {
    for (const serializer of [{ dumps }, { loads }, { dumps, loads: 'JSON.parse' }, null]) {
      const error = refusal({ serializer })
      expect(error.option).toBe('serializer')
      expect(error.message).toContain('dumps(value) and loads(text)')
    }
  })

  it('validate is optional, but must be a function when given', () => {
    expect(accepts({ serializer: { dumps, loads } }).serializer.loads('1')).toBe(1)
    const validate = () => undefined
    expect(accepts({ serializer: { dumps, loads, validate } }).serializer.validate).toBe(validate)
    const error = refusal({ serializer: { dumps, loads, validate: true } })
    expect(error.option).toBe('serializer')
    expect(error.message).toContain('validate that is not a function')
  })
})

describe('secrets', () => {
  it('a secret of exactly 32 bytes is accepted, 31 refused with how to make one; a non-string is "missing"', () => {
    expect(accepts({ secret: 's'.repeat(32) }).secret).toBe('s'.repeat(32))
    const short = refusal({ secret: 's'.repeat(31) })
    expect(short.option).toBe('secret')
    expect(short.message).toContain('at least 32 bytes')
    expect(short.message).toContain('openssl rand -base64 32')
    vi.stubEnv('SESSION_SECRET', '')
    for (const secret of [42, '', undefined]) {
      const error = refusal({ secret })
      expect(error.option).toBe('secret')
      expect(error.message).toContain('is missing')
      expect(error.message).toContain('SESSION_SECRET environment variable to at least 32 random bytes (e.g. `openssl rand -base64 32`)')
    }
  })

  it('secretFallbacks must be an array; each entry is checked and named by its index', () => {
    const notArray = refusal({ secretFallbacks: 's'.repeat(32) })
    expect(notArray.option).toBe('secretFallbacks')
    expect(notArray.message).toContain('array of strings')
    expect(refusal({ secretFallbacks: ['f'.repeat(32), 'short'] }).option).toBe('secretFallbacks[1]')
    expect(accepts({ secretFallbacks: ['f'.repeat(32)] }).secretFallbacks).toEqual(['f'.repeat(32)])
  })

  it('SESSION_SECRET_FALLBACKS: comma-separated, trimmed, empty entries dropped; an option given wins over it', () => {
    vi.stubEnv('SESSION_SECRET_FALLBACKS', ` ${'a'.repeat(32)}, ,${'b'.repeat(32)},`)
    expect(accepts({}).secretFallbacks).toEqual(['a'.repeat(32), 'b'.repeat(32)])
    expect(accepts({ secretFallbacks: [] }).secretFallbacks).toEqual([])
    vi.stubEnv('SESSION_SECRET_FALLBACKS', '')
    expect(accepts({}).secretFallbacks).toEqual([])
  })

  it('an option passed as undefined counts as not passed: the environment and the defaults apply', () => {
    vi.stubEnv('SESSION_SECRET', SECRET)
    const settings = resolveSettings({ secret: undefined, cookieName: undefined, cookieAge: undefined })
    expect(settings).toMatchObject({ secret: SECRET, cookieName: 'sessionid', cookieAge: 14 * DAY })
  })
})

describe('cookie attributes', () => {
  it('cookieName: every RFC 6265 token character is accepted; a separator or a non-string is refused', () => {
    expect(accepts({ cookieName: "!#$%&'*+-.^_`|~09AZaz" }).cookieName).toBe("!#$%&'*+-.^_`|~09AZaz")
    for (const cookieName of ['a=b', 'a;b', 'a,b', 'é', 42]) {
      const error = refusal({ cookieName })
      expect(error.option).toBe('cookieName')
      expect(error.message).toContain('RFC 6265 token')
    }
  })

  it('cookiePath must start with "/" and hold no ";" or whitespace', () => {
    expect(accepts({ cookiePath: '/app/x' }).cookiePath).toBe('/app/x')
    for (const cookiePath of ['app', '/a b', '/a;b', '/a\tb', 5]) {
      const error = refusal({ cookiePath })
      expect(error.option).toBe('cookiePath')
      expect(error.message).toContain('start with "/"')
    }
  })

  it('cookieDomain: a host name, with or without its leading dot, or left out', () => {
    expect(accepts({ cookieDomain: '.example.com' }).cookieDomain).toBe('.example.com')
    expect(accepts({ cookieDomain: 'sub-1.example.com' }).cookieDomain).toBe('sub-1.example.com')
    for (const cookieDomain of ['', 'a b.com', 'a;b', 'http://x', 5]) {
      const error = refusal({ cookieDomain })
      expect(error.option).toBe('cookieDomain')
      expect(error.message).toContain('host name')
    }
  })

  it('cookieSameSite "none" needs cookieSecure, and says so', () => {
    const error = refusal({ cookieSameSite: 'none', cookieSecure: false })
    expect(error.option).toBe('cookieSameSite')
    expect(error.message).toContain('set cookieSecure: true')
    expect(refusal({ cookieSameSite: 'NONE', cookieSecure: false }).option).toBe('cookieSameSite')
    expect(refusal({ cookieSameSite: true }).message).toContain('"lax", "strict", "none" or false')
  })

  it.each(['cookieSecure', 'cookieHttpOnly', 'expireAtBrowserClose', 'saveEveryRequest'])('%s must be a boolean', (flag) => {
    const error = refusal({ [flag]: 'false' })
    expect(error.option).toBe(flag)
    expect(error.message).toContain('true or false')
    expect(accepts({ [flag]: true, cookieSecure: true })[flag as 'cookieSecure']).toBe(true)
  })

  it('a __Secure- cookie needs cookieSecure and nothing else; a __Host- cookie also needs path "/" and no domain', () => {
    expect(accepts({ cookieName: '__Secure-sid', cookieSecure: true, cookiePath: '/app', cookieDomain: '.example.com' }).cookieName).toBe('__Secure-sid')
    const insecure = refusal({ cookieName: '__Secure-sid', cookieSecure: false })
    expect(insecure.option).toBe('cookieSecure')
    expect(insecure.message).toContain('"__Secure-sid"')
    const host = refusal({ cookieName: '__Host-sid', cookieSecure: true, cookiePath: '/app' })
    expect(host.option).toBe('cookieName')
    expect(host.message).toContain('requires cookiePath "/" and no cookieDomain')
  })
})

describe('unknown options', () => {
  it('are named, with every known option listed in order', () => {
    const error = refusal({ cookie_age: 60 })
    expect(error.option).toBe('cookie_age')
    expect(error.message).toContain('is not an option')
    expect(error.message).toContain(
      'cookieAge, cookieDomain, cookieHttpOnly, cookieName, cookiePath, cookieSameSite, cookieSecure, expireAtBrowserClose',
    )
  })
})

describe('the result', () => {
  it('is frozen: a request cannot change the app-wide settings', () => {
    const settings = accepts({})
    expect(Object.isFrozen(settings)).toBe(true)
  })

  it('cookieSecure defaults to false outside production, and an explicit value wins either way', () => {
    vi.stubEnv('NODE_ENV', 'development')
    expect(accepts({}).cookieSecure).toBe(false)
    expect(accepts({ cookieSecure: true }).cookieSecure).toBe(true)
    vi.stubEnv('NODE_ENV', 'production')
    expect(accepts({}).cookieSecure).toBe(true)
    expect(accepts({ cookieSecure: false }).cookieSecure).toBe(false)
  })
})

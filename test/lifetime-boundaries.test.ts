/**
 * src/core/lifetime.ts at its edges: the `lifetime` option's refusals (with the option named and the rule
 * stated), the absolute lifetime's last second, and a stored start that is not a usable number. The clock is
 * set, never waited on. The rest of the lifetime is in test/revocation-lifetime.test.ts and the conformance suite.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { cappedExpiryAge, lifetimeEnd, lifetimeEnded, STARTED_KEY, stampLifetime } from '../src/core/lifetime.js'
import { writeReserved, type Session, type SessionData } from '../src/core/session.js'
import { memoryEngine } from '../src/engines/memory.js'
import { SessionConfigError } from '../src/errors.js'
import { createSessionStore } from '../src/store.js'

const SECRET = 'lifetime-boundaries-secret-0123456789abcdef'
const T0 = Date.parse('2026-03-01T12:00:00Z')
const T0_SECONDS = T0 / 1000

function configError(lifetime: unknown): SessionConfigError {
  try {
    createSessionStore({ secret: SECRET, lifetime: lifetime as never })
  } catch (err) {
    if (err instanceof SessionConfigError) return err
    throw err
  }
  throw new Error(`accepted ${JSON.stringify(lifetime)}`)
}

describe('lifetime option', () => {
  it('refuses null as it refuses any non-object, naming lifetime and the shape it takes', () => {
    for (const value of [null, 'forever', 3600]) {
      const error = configError(value)
      expect(error.option).toBe('lifetime')
      expect(error.message).toContain('{ absolute?: seconds, idle?: seconds }')
    }
  })

  it('refuses an unknown key, naming it and the known ones', () => {
    const error = configError({ sliding: 60 })
    expect(error.option).toBe('lifetime.sliding')
    expect(error.message).toContain('Known: absolute, idle')
  })

  it('refuses a limit that is not a positive whole number, saying what it must be', () => {
    const error = configError({ idle: 0 })
    expect(error.option).toBe('lifetime.idle')
    expect(error.message).toContain('positive whole number of seconds')
  })

  it('an undefined limit is no limit: skipped, not refused, and left out of the settings', () => {
    const { lifetime } = createSessionStore({ secret: SECRET, lifetime: { absolute: undefined, idle: 600 } }).settings
    expect(lifetime).toStrictEqual({ idle: 600 })
  })
})

/** One engine instance shared by two stores: the same records, read without and with a one-hour absolute lifetime. */
function twoStores() {
  const engine = memoryEngine()(createSessionStore({ secret: SECRET }).settings)
  return {
    plain: createSessionStore<SessionData>({ secret: SECRET, engine }),
    capped: createSessionStore<SessionData>({ secret: SECRET, engine, lifetime: { absolute: 3600 } }),
  }
}

describe('the absolute lifetime to the millisecond', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['Date'] }))
  afterEach(() => vi.useRealTimers())

  it('a session loads until the last millisecond before its end, and not at its end', async () => {
    const { plain, capped } = twoStores()
    vi.setSystemTime(T0)
    const session = plain.open()
    await session.aset('cart', [1])
    await session[writeReserved](STARTED_KEY, T0_SECONDS)
    await session.asave()
    vi.setSystemTime(T0 + 3_599_999)
    expect(await capped.open(session.sessionKey).aget('cart')).toEqual([1])
    vi.setSystemTime(T0 + 3_600_000)
    expect(await capped.open(session.sessionKey).aget('cart')).toBeUndefined()
    expect(lifetimeEnded({ [STARTED_KEY]: T0_SECONDS }, { absolute: 3600 }, new Date(T0 + 3_600_000))).toBe(true)
    expect(lifetimeEnded({ [STARTED_KEY]: T0_SECONDS }, { absolute: 3600 }, new Date(T0 + 3_599_999))).toBe(false)
  })

  it('a stored start that is not a number (a string another writer left) is replaced at the next save, not trusted', async () => {
    const { plain, capped } = twoStores()
    vi.setSystemTime(T0)
    const session = plain.open()
    await session.aset('cart', [1])
    await session[writeReserved](STARTED_KEY, String(T0_SECONDS - 7200))
    await session.asave()
    const later = capped.open(session.sessionKey) as Session<SessionData>
    expect(await later.aget('cart')).toEqual([1])
    later.modified = true
    await later.asave()
    expect(await (capped.open(session.sessionKey) as Session<SessionData>).aget(STARTED_KEY)).toBe(T0_SECONDS)
  })

  it('a start that is NaN or infinite counts as none: no end, the age uncapped, and a new start stamped', () => {
    const now = new Date(T0)
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, '1700000000']) {
      const data = new Map<string, unknown>([[STARTED_KEY, bad]])
      expect(lifetimeEnd(data, { absolute: 3600 })).toBeNull()
      expect(cappedExpiryAge(1_209_600, data, { absolute: 3600 }, now)).toBe(1_209_600)
      expect(stampLifetime(data, { absolute: 3600 }, now)).toEqual([STARTED_KEY])
      expect(data.get(STARTED_KEY)).toBe(T0_SECONDS)
    }
  })
})

/**
 * src/core/refresh.ts called directly, as the middleware and the Next session call it: what `refreshIfDue`
 * and `stampWrite` decide at the edges (the same second, an empty session, a stamp that is not a number, the
 * `now` they are given) and what they report, and the `slidingRefresh` option's refusals. The visit-level
 * behaviour is in test/refresh.test.ts. The clock is set, never waited on.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { REFRESHED_KEY, checkSlidingRefresh, refreshIfDue, stampWrite } from '../src/core/refresh.js'
import { writeReserved, type Session, type SessionData } from '../src/core/session.js'
import { memoryEngine } from '../src/engines/memory.js'
import { SessionConfigError } from '../src/errors.js'
import { createSessionStore } from '../src/store.js'

const SECRET = 'refresh-contract-secret-0123456789abcdef'
const T0 = Date.parse('2026-03-01T12:00:00Z')
const T0_SECONDS = T0 / 1000

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(T0)
})
afterEach(() => vi.useRealTimers())

/** A saved session holding `data`, opened afresh as the next request opens it. */
async function saved(data: SessionData, prepare?: (s: Session<SessionData>) => Promise<void>): Promise<Session<SessionData>> {
  const store = createSessionStore<SessionData>({ secret: SECRET, engine: memoryEngine() })
  const session = store.open()
  await session.aupdate(data)
  await prepare?.(session)
  await session.asave()
  return store.open(session.sessionKey)
}

function configError(value: unknown): SessionConfigError {
  try {
    checkSlidingRefresh(value)
  } catch (err) {
    if (err instanceof SessionConfigError) return err
    throw err
  }
  throw new Error(`accepted ${JSON.stringify(value)}`)
}

describe('slidingRefresh option', () => {
  it('refuses an unknown key beside interval, naming the option and the forms it takes', () => {
    const error = configError({ interval: 60, every: 60 })
    expect(error.option).toBe('slidingRefresh')
    expect(error.message).toContain('true, false or { interval: seconds }')
  })

  it('refuses a negative interval, naming slidingRefresh.interval and that 0 is the least', () => {
    const error = configError({ interval: -1 })
    expect(error.option).toBe('slidingRefresh.interval')
    expect(error.message).toContain('0 or more')
  })

  it('{} is the default interval: no interval key at all, as `true` gives', () => {
    expect(checkSlidingRefresh({})).toStrictEqual({})
    expect(checkSlidingRefresh({ interval: undefined })).toStrictEqual({})
    expect(checkSlidingRefresh({ interval: 600 })).toStrictEqual({ interval: 600 })
  })
})

describe('refreshIfDue', () => {
  it('an empty session is never refreshed: false, and nothing to write', async () => {
    const store = createSessionStore<SessionData>({ secret: SECRET, engine: memoryEngine() })
    const session = store.open()
    expect(await refreshIfDue(session, { interval: 0 })).toBe(false)
    expect(session.modified).toBe(false)
  })

  it('says true when it marks the session, false when it is not due, and marks nothing then', async () => {
    const session = await saved({ user: 'ada' })
    expect(await refreshIfDue(session, { interval: 600 })).toBe(true)
    expect(session.modified).toBe(true)
    expect(await session.aget(REFRESHED_KEY)).toBe(T0_SECONDS)
    const next = await saved({ user: 'ada' }, (s) => s[writeReserved](REFRESHED_KEY, T0_SECONDS - 599))
    expect(await refreshIfDue(next, { interval: 600 })).toBe(false)
    expect(next.modified).toBe(false)
  })

  it('a second visit in the same second as the refresh is not due', async () => {
    const session = await saved({ user: 'ada' }, (s) => s[writeReserved](REFRESHED_KEY, T0_SECONDS))
    vi.setSystemTime(T0 + 999)
    expect(await refreshIfDue(session, { interval: 600 })).toBe(false)
    expect(session.modified).toBe(false)
  })

  it('a stamp that is not a number (a numeric string another writer left) is due at once, and replaced by a number', async () => {
    const session = await saved({ user: 'ada' }, (s) => s[writeReserved](REFRESHED_KEY, String(T0_SECONDS)))
    expect(await refreshIfDue(session, { interval: 600 })).toBe(true)
    expect(await session.aget(REFRESHED_KEY)).toBe(T0_SECONDS)
  })

  it('counts the default interval from the expiry left at the `now` it is given, not at the clock', async () => {
    // Expires 1000 s after the clock: a tenth is 100 s by the clock, but 50 s at `now`, 500 s later.
    const now = new Date(T0 + 500_000)
    const session = await saved({ user: 'ada' }, async (s) => {
      await s.asetExpiry(new Date(T0 + 1_000_000))
      await s[writeReserved](REFRESHED_KEY, T0_SECONDS + 500 - 60)
    })
    expect(await refreshIfDue(session, {}, now)).toBe(true)
    expect(await session.aget(REFRESHED_KEY)).toBe(T0_SECONDS + 500)
  })
})

describe('stampWrite', () => {
  it('stamps a session holding data with the whole second of `now`', async () => {
    const session = await saved({ user: 'ada' })
    await stampWrite(session, new Date(T0 + 42_900))
    expect(await session.aget(REFRESHED_KEY)).toBe(T0_SECONDS + 42)
    expect(session.modified).toBe(true)
  })

  it('leaves a session alone that holds nothing, or nothing but its stamp', async () => {
    const store = createSessionStore<SessionData>({ secret: SECRET, engine: memoryEngine() })
    const empty = store.open()
    await stampWrite(empty)
    expect(await empty.akeys()).toEqual([])
    expect(empty.modified).toBe(false)
    const onlyStamp = await saved({}, (s) => s[writeReserved](REFRESHED_KEY, T0_SECONDS - 1000))
    await stampWrite(onlyStamp)
    expect(await onlyStamp.aget(REFRESHED_KEY)).toBe(T0_SECONDS - 1000)
    expect(onlyStamp.modified).toBe(false)
  })

  it('writes nothing when the stamp is already this second', async () => {
    const session = await saved({ user: 'ada' }, (s) => s[writeReserved](REFRESHED_KEY, T0_SECONDS))
    await stampWrite(session, new Date(T0 + 500))
    expect(session.modified).toBe(false)
  })
})

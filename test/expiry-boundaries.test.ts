/**
 * Expiry at its edges: the 400-day cap (RFC 6265bis §5.5) to the second, and which stored absolute expiries are
 * read as instants (ISO 8601 with an explicit offset) versus garbled, which means expired, never "forever".
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createSessionStore, memoryEngine } from '../src/index.js'
import { SessionExpiryTooLong } from '../src/errors.js'

const SECRET = 'expiry boundaries test secret, 32+ bytes'
const MAX = 400 * 86400
const M = new Date('2024-01-01T12:00:00Z')

afterEach(() => vi.useRealTimers())

const session = () => createSessionStore({ secret: SECRET, engine: memoryEngine(), cookieAge: 600 }).open()

async function refusal(promise: Promise<unknown>): Promise<SessionExpiryTooLong> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(SessionExpiryTooLong)
  return err as SessionExpiryTooLong
}

describe('the 400-day cap', () => {
  it('asetExpiry(seconds): exactly 400 days is kept, one second more is SessionExpiryTooLong naming both numbers', async () => {
    const s = session()
    await s.asetExpiry(MAX)
    expect(await s.agetExpiryAge()).toBe(MAX)
    const err = await refusal(s.asetExpiry(MAX + 1))
    expect(err).toMatchObject({ code: 'ERR_SESSION_EXPIRY_TOO_LONG', seconds: MAX + 1, limit: MAX })
    expect(err.message).toContain(`${MAX + 1} seconds`)
    expect(await s.agetExpiryAge()).toBe(MAX)
  })

  it('asetExpiry(date): a date exactly 400 days ahead is kept, one second later is refused', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(M)
    const s = session()
    await s.asetExpiry(new Date(M.getTime() + MAX * 1000))
    expect(await s.agetExpiryAge()).toBe(MAX)
    const err = await refusal(s.asetExpiry(new Date(M.getTime() + (MAX + 1) * 1000)))
    expect(err.seconds).toBe(MAX + 1)
  })

  it('a save refuses an age over the cap reached through the stored data, before the engine writes', async () => {
    const store = createSessionStore({ secret: SECRET, engine: memoryEngine() })
    const write = { data: new Map(), changed: new Set<string>(), deleted: new Set<string>(), replace: true, expiryAge: MAX + 1, expiryAgeOf: () => MAX + 1 }
    await expect(store.engine.save('k'.repeat(32), write, { mustCreate: true })).rejects.toBeInstanceOf(SessionExpiryTooLong)
  })
})

describe('stored absolute expiries', () => {
  const ageOf = (expiry: string) => session().agetExpiryAge({ expiry, modification: M })
  const dateOf = (expiry: string) => session().agetExpiryDate({ expiry, modification: M })

  it('ISO 8601 with an explicit offset is an instant: Z, +00:00, another offset, milli- or microseconds', async () => {
    for (const expiry of ['2024-01-01T12:00:10Z', '2024-01-01T12:00:10.000Z', '2024-01-01T12:00:10.000000+00:00', '2024-01-01T13:00:10+01:00']) {
      expect(await ageOf(expiry)).toBe(10)
      expect(await dateOf(expiry)).toEqual(new Date('2024-01-01T12:00:10Z'))
    }
  })

  it('without an offset, or with anything around it, it is garbled: expired (age 0, expiry date = the modification)', async () => {
    // A time without an offset depends on the server's zone; each of these also parses as a Date, yet is refused.
    for (const expiry of ['2024-01-01T12:00:10', '2024-01-01', 'x2024-01-01T12:00:10Z', '2024-01-01T12:00:10Z ', '2024-01-01 12:00:10Z', 'Mon, 01 Jan 2024 12:00:10 GMT']) {
      expect(await ageOf(expiry)).toBe(0)
      expect(await dateOf(expiry)).toEqual(M)
    }
  })

  it('a stored expiry of another type (true, an object) is garbled too, not a Date made from it', async () => {
    for (const expiry of [true, { at: 10 }, ['2024-01-01T12:00:10Z']]) {
      const s = session()
      expect(await s.agetExpiryAge({ expiry: expiry as never, modification: M })).toBe(0)
      expect(await s.agetExpiryDate({ expiry: expiry as never, modification: M })).toEqual(M)
    }
  })

  it('a stored expiry in the past gives a negative age, floored to whole seconds', async () => {
    expect(await ageOf('2024-01-01T11:59:59.500Z')).toBe(-1)
    expect(await ageOf('2024-01-01T12:00:00.500Z')).toBe(0)
  })
})

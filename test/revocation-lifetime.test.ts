/**
 * The session lifetime (src/core/lifetime.ts): its configuration, its arithmetic, the load-side check, and login
 * restarting it; plus the device label helper. Engine-independent timing lives in the conformance suite.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { commitSession, cookieEngine, createSessionStore, deviceLabel, memoryEngine, SessionConfigError, userSessions } from '../src/index.js'
import { cappedExpiryAge, lifetimeEnd, STARTED_KEY, type SessionLifetime } from '../src/core/lifetime.js'
import { writeReserved, type Session, type SessionData } from '../src/core/session.js'
import { upstashRevocation } from '../src/revocation/upstash.js'
import { SECRET, uniquePrefix, upstashFixture } from './support/upstash.js'

const fx = await upstashFixture()
afterAll(() => fx?.close())

const NOW = new Date('2026-11-29T12:00:00.500Z')
const nowSeconds = Math.floor(NOW.getTime() / 1000)

describe('lifetime configuration', () => {
  it.for([
    [{ absolute: 0 }, 'lifetime.absolute'],
    [{ idle: -5 }, 'lifetime.idle'],
    [{ idle: 1.5 }, 'lifetime.idle'],
    [{ absolute: '3600' }, 'lifetime.absolute'],
    [{ sliding: 60 }, 'lifetime.sliding'],
    ['forever', 'lifetime'],
  ] as const)('refuses %j, naming %s', ([lifetime, option]) => {
    const error = (() => {
      try {
        createSessionStore({ secret: SECRET, lifetime: lifetime as never })
      } catch (err) {
        return err
      }
      return null
    })()
    expect(error).toBeInstanceOf(SessionConfigError)
    expect((error as SessionConfigError).option).toBe(option)
  })

  it('accepts absolute and idle, and none at all', () => {
    expect(createSessionStore({ secret: SECRET, lifetime: { absolute: 3600, idle: 600 } }).settings.lifetime).toEqual({ absolute: 3600, idle: 600 })
    expect(createSessionStore({ secret: SECRET }).settings.lifetime).toBeUndefined()
  })
})

describe('lifetime arithmetic', () => {
  const started = (secondsAgo: number) => new Map<string, unknown>([[STARTED_KEY, nowSeconds - secondsAgo]])

  it('leaves Django\'s age alone without a lifetime', () => {
    expect(cappedExpiryAge(1209600, started(10), undefined, NOW)).toBe(1209600)
  })

  it('caps at the idle timeout', () => {
    expect(cappedExpiryAge(1209600, new Map(), { idle: 1800 }, NOW)).toBe(1800)
    expect(cappedExpiryAge(600, new Map(), { idle: 1800 }, NOW)).toBe(600)
  })

  it('caps at what is left of the absolute lifetime, floored, and goes to 0 or below once it is over', () => {
    // Started 100.5 s ago by the clock: 3499.5 s left, floored like every age.
    expect(cappedExpiryAge(1209600, started(100), { absolute: 3600 }, NOW)).toBe(3499)
    expect(cappedExpiryAge(1209600, started(100), { absolute: 3600, idle: 60 }, NOW)).toBe(60)
    expect(cappedExpiryAge(1209600, started(3600), { absolute: 3600 }, NOW)).toBeLessThanOrEqual(0)
    expect(lifetimeEnd(started(100), { absolute: 3600 })).toBe((nowSeconds - 100 + 3600) * 1000)
    expect(lifetimeEnd(new Map(), { absolute: 3600 })).toBeNull()
  })
})

describe('the absolute lifetime on load', () => {
  it('a record past it loads as an empty session even though the engine still holds it', async () => {
    const engine = memoryEngine()({ ...createSessionStore({ secret: SECRET }).settings })
    const plain = createSessionStore({ secret: SECRET, engine })
    const capped = createSessionStore({ secret: SECRET, engine, lifetime: { absolute: 3600 } })
    const session = plain.open()
    await session.aset('cart', [1, 2, 3])
    await session[writeReserved](STARTED_KEY, Math.floor(Date.now() / 1000) - 7200)
    await session.asave()
    expect(await plain.open(session.sessionKey).aget('cart')).toEqual([1, 2, 3])
    const late = capped.open(session.sessionKey)
    expect(await late.aget('cart')).toBeUndefined()
    expect(late.sessionKey).toBeNull()
  })

  it('a session saved before the lifetime was configured gets its start at its next save, not an instant end', async () => {
    const engine = memoryEngine()({ ...createSessionStore({ secret: SECRET }).settings })
    const plain = createSessionStore({ secret: SECRET, engine })
    const capped = createSessionStore({ secret: SECRET, engine, lifetime: { absolute: 3600 } })
    const session = plain.open()
    await session.aset('cart', [1])
    await session.asave()
    const later = capped.open(session.sessionKey)
    expect(await later.aget('cart')).toEqual([1])
    later.modified = true
    await later.asave()
    const stamped = await (capped.open(session.sessionKey) as Session<SessionData>).aget(STARTED_KEY)
    expect(Math.abs((stamped as number) - Date.now() / 1000)).toBeLessThan(5)
  })
})

describe.each([
  ['cookie', () => cookieEngine()],
  ['memory', () => memoryEngine()],
] as const)("the cookie's Max-Age and Expires never outlast the session, %s engine", (_name, engine) => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(NOW)
  })
  afterEach(() => vi.useRealTimers())

  async function commit(lifetime: SessionLifetime | undefined, prepare: (session: Session<SessionData>) => Promise<void>) {
    const store = createSessionStore({ secret: SECRET, engine: engine(), ...(lifetime ? { lifetime } : {}) })
    const session = store.open() as Session<SessionData>
    await session.aset('cart', [1])
    await prepare(session)
    return (await commitSession(session, { hadCookie: false })).cookie!
  }

  it('are capped at what is left of the absolute lifetime, as the save wrote it', async () => {
    const cookie = await commit({ absolute: 3600 }, (s) => s[writeReserved](STARTED_KEY, nowSeconds - 1000))
    // 2599.5 s left by the clock, floored like the save's own expiry.
    expect(cookie.maxAge).toBe(2599)
    expect(cookie.expires).toEqual(new Date(NOW.getTime() + 2599_000))
  })

  it("are the whole absolute lifetime at a session's first save, which starts it", async () => {
    const cookie = await commit({ absolute: 3600 }, async () => {})
    // Started at the whole second the save stamped, 0.5 s before NOW: 3599.5 s left, floored.
    expect(cookie.maxAge).toBe(3599)
    expect(cookie.expires).toEqual(new Date(NOW.getTime() + 3599_000))
  })

  it('are capped at the idle timeout, counted from this save', async () => {
    const cookie = await commit({ idle: 600, absolute: 3600 }, async () => {})
    expect(cookie.maxAge).toBe(600)
    expect(cookie.expires).toEqual(new Date(NOW.getTime() + 600_000))
  })

  it("are Django's when the session's own expiry is shorter, or without a lifetime", async () => {
    expect((await commit({ absolute: 3600 }, (s) => s.asetExpiry(60))).maxAge).toBe(60)
    const django = await commit(undefined, async () => {})
    expect(django.maxAge).toBe(1_209_600)
    expect(django.expires).toEqual(new Date(NOW.getTime() + 1_209_600_000))
  })

  it('stay absent for a browser-close session, which the server caps by the same limits', async () => {
    const cookie = await commit({ absolute: 3600 }, (s) => s.asetExpiry(0))
    expect(cookie.maxAge).toBeUndefined()
    expect(cookie.expires).toBeUndefined()
  })
})

describe.skipIf(!fx)('login restarts the absolute lifetime', () => {
  it('alogin stamps a new start; a plain save keeps the old one', async () => {
    const store = createSessionStore({
      secret: SECRET,
      lifetime: { absolute: 24 * 3600 },
      engine: cookieEngine({ revocation: upstashRevocation({ redis: { url: fx!.server.url, token: fx!.server.token }, prefix: uniquePrefix('lifetime') }) }),
    })
    const session = store.open() as Session<SessionData>
    await session.aset('cart', [1])
    await session[writeReserved](STARTED_KEY, Math.floor(Date.now() / 1000) - 3600)
    await session.asave()
    expect(await session.aget(STARTED_KEY)).toBe(Math.floor(Date.now() / 1000) - 3600)
    await userSessions(store).alogin(session, 'u1')
    expect(Math.abs(((await session.aget(STARTED_KEY)) as number) - Date.now() / 1000)).toBeLessThan(5)
  })
})

describe('deviceLabel', () => {
  it.for([
    ['Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', 'Firefox on Linux'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0', 'Edge on Windows'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15', 'Safari on macOS'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0 Mobile/15E148 Safari/604.1', 'Chrome on iPhone'],
    ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36', 'Chrome on Android'],
    ['curl/8.5.0', 'Unknown device'],
    [null, 'Unknown device'],
  ] as const)('%s → %s', ([agent, label]) => {
    expect(deviceLabel(agent)).toBe(label)
  })
})

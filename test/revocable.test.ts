/**
 * revocable() (src/revocation/index.ts) on its own: the cookie engine with a recording revocation store, so each
 * decision is seen as the store calls it makes: which cookies ask the store, which session id a save tracks under
 * which mode, expiry and label, what ends at an unbinding save and at a delete, and the bound on tokens it remembers.
 * test/revocation.test.ts and the revocation conformance suite run the same wrapper against real Redis.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { KEY_CYCLED, type SessionEngine, type SessionWrite } from '../src/core/engine.js'
import { cookieEngine } from '../src/engines/cookie.js'
import { UpdateError } from '../src/errors.js'
import { revocable, SESSION_ID_KEY, type RevocationStore } from '../src/revocation/index.js'
import { createSessionStore } from '../src/store.js'
import { DEVICE_KEY, USER_ID_KEY } from '../src/users/index.js'

const SECRET = 'revocable test secret, 32 bytes or more'
const settings = createSessionStore({ secret: SECRET }).settings

afterEach(() => void vi.useRealTimers())

type Call = [method: string, ...args: unknown[]]

/** A revocation store that records its calls; `live` answers isLive. */
function recording(live = true) {
  const calls: Call[] = []
  const store: RevocationStore = {
    isLive: async (...args) => (calls.push(['isLive', ...args]), live),
    track: async (...args) => void calls.push(['track', ...args]),
    list: async (...args) => (calls.push(['list', ...args]), []),
    end: async (...args) => void calls.push(['end', ...args]),
  }
  return { store, calls }
}

function write(entries: Record<string, unknown>, expiryAge = 3600): SessionWrite {
  const data = new Map(Object.entries(entries))
  return { data, changed: new Set(data.keys()), deleted: new Set(), replace: true, expiryAge, expiryAgeOf: () => expiryAge }
}

/** The cookie engine, with `load` counted: a count of how many tokens were verified. */
function counted(): { engine: SessionEngine; loads: () => number } {
  const engine = cookieEngine()(settings)
  let loads = 0
  return {
    engine: {
      ...engine,
      load: (token) => {
        loads++
        return engine.load(token)
      },
    },
    loads: () => loads,
  }
}

/** A signed-in cookie as revocable() issues it, and its session id. */
async function signedIn(engine: SessionEngine, userId = 'u1'): Promise<{ token: string; sessionId: string }> {
  const token = await engine.save('fresh-key', write({ [USER_ID_KEY]: userId, a: 1 }), { mustCreate: true })
  return { token, sessionId: 'fresh-key' }
}

describe('revocable: load', () => {
  it('hands a cookie bound to no user back without asking the store', async () => {
    const { store, calls } = recording()
    const plain = cookieEngine()(settings)
    const token = await plain.save('', write({ a: 1 }), { mustCreate: true })
    expect(await revocable(plain, store).load(token)).toMatchObject({ a: 1 })
    expect(calls).toEqual([])
  })

  it('asks the store about a bound cookie by user and session id, and loads it only while live', async () => {
    const plain = cookieEngine()(settings)
    const live = recording(true)
    const { token, sessionId } = await signedIn(revocable(plain, live.store))
    live.calls.length = 0
    expect(await revocable(plain, live.store).load(token)).toMatchObject({ a: 1, [USER_ID_KEY]: 'u1', [SESSION_ID_KEY]: sessionId })
    expect(live.calls).toEqual([['isLive', 'u1', sessionId]])
    expect(await revocable(plain, recording(false).store).load(token)).toBeNull()
  })

  it('refuses a bound cookie without a session id (made before revocation) without asking the store', async () => {
    const { store, calls } = recording()
    const plain = cookieEngine()(settings)
    const token = await plain.save('', write({ [USER_ID_KEY]: 'u1' }), { mustCreate: true })
    expect(await revocable(plain, store).load(token)).toBeNull()
    expect(calls).toEqual([])
  })

  it('treats a session id that is not a string as none: not loaded, and the store not asked', async () => {
    const { store, calls } = recording()
    const plain = cookieEngine()(settings)
    const token = await plain.save('', write({ [USER_ID_KEY]: 'u1', [SESSION_ID_KEY]: 5 }), { mustCreate: true })
    expect(await revocable(plain, store).load(token)).toBeNull()
    expect(calls).toEqual([])
  })

  it('a forged or garbled cookie is null, and asks nothing', async () => {
    const { store, calls } = recording()
    expect(await revocable(cookieEngine()(settings), store).load('garbage')).toBeNull()
    expect(calls).toEqual([])
  })
})

describe('revocable: save of a bound session', () => {
  it("a create tracks the core's new key as the session id, with the expiry, the label and mode 'create'", async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: 1_700_000_000_000 })
    const { store, calls } = recording()
    const engine = revocable(cookieEngine()(settings), store)
    const token = await engine.save('new-key', write({ [USER_ID_KEY]: 'u1', [DEVICE_KEY]: 'Firefox on Linux' }, 600), { mustCreate: true })
    expect(calls).toEqual([['track', 'u1', 'new-key', { expires: 1_700_000_600_000, label: 'Firefox on Linux' }, 'create']])
    expect(await cookieEngine()(settings).load(token)).toMatchObject({ [SESSION_ID_KEY]: 'new-key' })
  })

  it('a label that is not a string is tracked as null', async () => {
    const { store, calls } = recording()
    await revocable(cookieEngine()(settings), store).save('k', write({ [USER_ID_KEY]: 'u1', [DEVICE_KEY]: 7 }), { mustCreate: true })
    expect(calls[0]![3]).toMatchObject({ label: null })
  })

  it("an update over a key that is no token keeps the session id the data holds, in mode 'update'", async () => {
    const { store, calls } = recording()
    const engine = revocable(cookieEngine()(settings), store)
    await engine.save('any', write({ [USER_ID_KEY]: 'u1', [SESSION_ID_KEY]: 'sid-1' }), { mustCreate: false })
    expect(calls).toEqual([['track', 'u1', 'sid-1', expect.anything(), 'update']])
  })

  it('an update of data without the id finds it from the token it just issued, without verifying it again', async () => {
    const { engine: inner, loads } = counted()
    const { store, calls } = recording()
    const engine = revocable(inner, store)
    const { token, sessionId } = await signedIn(engine)
    await engine.save(token, write({ [USER_ID_KEY]: 'u1', a: 2 }), { mustCreate: false })
    expect(calls.at(-1)).toEqual(['track', 'u1', sessionId, expect.anything(), 'update'])
    expect(loads()).toBe(0)
  })

  it('an update from a token another process issued verifies it for its id', async () => {
    const { store, calls } = recording()
    const { token, sessionId } = await signedIn(revocable(cookieEngine()(settings), store))
    const { engine: inner, loads } = counted()
    await revocable(inner, store).save(token, write({ [USER_ID_KEY]: 'u1', a: 2 }), { mustCreate: false })
    expect(calls.at(-1)).toEqual(['track', 'u1', sessionId, expect.anything(), 'update'])
    expect(loads()).toBe(1)
  })

  it('remembers the last 256 tokens it issued, and no more', async () => {
    const { engine: inner, loads } = counted()
    const { store } = recording()
    const engine = revocable(inner, store)
    const tokens: string[] = []
    for (let i = 0; i < 257; i++) tokens.push(await engine.save(`key-${i}`, write({ [USER_ID_KEY]: 'u1', i }), { mustCreate: true }))
    // The 257th forgot the first: its id is read from the token again.
    await engine.save(tokens[0]!, write({ [USER_ID_KEY]: 'u1' }), { mustCreate: false })
    expect(loads()).toBe(1)
    // That save forgot the second; the third is still remembered.
    await engine.save(tokens[2]!, write({ [USER_ID_KEY]: 'u1' }), { mustCreate: false })
    expect(loads()).toBe(1)
  })

  it('an update it cannot find a session id for is UpdateError, and tracks nothing', async () => {
    const { store, calls } = recording()
    const engine = revocable(cookieEngine()(settings), store)
    const unbound = await cookieEngine()(settings).save('', write({ [USER_ID_KEY]: 'u1' }), { mustCreate: true })
    for (const key of ['not-a-token', unbound]) {
      await expect(engine.save(key, write({ [USER_ID_KEY]: 'u1' }), { mustCreate: false })).rejects.toBeInstanceOf(UpdateError)
    }
    expect(calls).toEqual([])
  })
})

describe('revocable: save of an unbound session', () => {
  it('ends the session the earlier cookie was bound to (aclear() and a save)', async () => {
    const { store, calls } = recording()
    const engine = revocable(cookieEngine()(settings), store)
    const { token, sessionId } = await signedIn(engine)
    calls.length = 0
    const next = await engine.save(token, write({ a: 1 }), { mustCreate: false })
    expect(calls).toEqual([['end', 'u1', { ids: [sessionId] }]])
    expect(await engine.load(next)).toMatchObject({ a: 1 })
  })

  it('a create, or an earlier cookie bound to nobody or without an id, ends nothing', async () => {
    const { store, calls } = recording()
    const plain = cookieEngine()(settings)
    const engine = revocable(plain, store)
    const { token } = await signedIn(engine)
    calls.length = 0
    await engine.save(token, write({ a: 1 }), { mustCreate: true })
    for (const earlier of [write({ a: 0 }), write({ [USER_ID_KEY]: 'u1' })]) {
      await engine.save(await plain.save('', earlier, { mustCreate: true }), write({ a: 1 }), { mustCreate: false })
    }
    await engine.save('garbage', write({ a: 1 }), { mustCreate: false })
    expect(calls).toEqual([])
  })
})

describe('revocable: delete and the user index', () => {
  it("delete ends the cookie's session; a cookie bound to nobody ends nothing", async () => {
    const { store, calls } = recording()
    const engine = revocable(cookieEngine()(settings), store)
    const { token, sessionId } = await signedIn(engine)
    calls.length = 0
    await engine.delete(token)
    await engine.delete(await cookieEngine()(settings).save('', write({ a: 1 }), { mustCreate: true }))
    await engine.delete('garbage')
    expect(calls).toEqual([['end', 'u1', { ids: [sessionId] }]])
  })

  it('users.sessionId reads the id sealed in the cookie, null for any other; list and end go to the store', async () => {
    const { store, calls } = recording()
    const engine = revocable(cookieEngine()(settings), store)
    const { token, sessionId } = await signedIn(engine)
    calls.length = 0
    expect(await engine.users.sessionId(token)).toBe(sessionId)
    expect(await engine.users.sessionId('garbage')).toBeNull()
    expect(await engine.users.list('u1')).toEqual([])
    await engine.users.end('u1', { allExcept: null })
    expect(calls).toEqual([
      ['list', 'u1'],
      ['end', 'u1', { allExcept: null }],
    ])
  })
})

describe('revocable: cycle', () => {
  it('ends the old session as cycled (endCycled) after tracking the new one; a store without endCycled ends it with end', async () => {
    const cycled = recording()
    cycled.store.endCycled = async (...args) => void cycled.calls.push(['endCycled', ...args])
    for (const { store, calls } of [cycled, recording()]) {
      const engine = revocable(cookieEngine()(settings), store)
      const { token, sessionId } = await signedIn(engine)
      calls.length = 0
      const next = await engine.cycle!(token, 'next-key', write({ [USER_ID_KEY]: 'u1', a: 1 }))
      expect(await engine.users.sessionId(next)).toBe('next-key')
      expect(calls.map(([method]) => method)).toEqual(['track', store.endCycled ? 'endCycled' : 'end'])
      expect(calls[1]).toEqual(store.endCycled ? ['endCycled', 'u1', sessionId] : ['end', 'u1', { ids: [sessionId] }])
    }
  })

  it('an old session a logout ended first (endCycled: UpdateError) ends the new one too and throws UpdateError', async () => {
    const { store, calls } = recording()
    store.endCycled = async () => {
      throw new UpdateError()
    }
    const engine = revocable(cookieEngine()(settings), store)
    const { token } = await signedIn(engine)
    calls.length = 0
    await expect(engine.cycle!(token, 'next-key', write({ [USER_ID_KEY]: 'u1', a: 1 }))).rejects.toBeInstanceOf(UpdateError)
    expect(calls.at(-1)).toEqual(['end', 'u1', { ids: ['next-key'] }])
    // Unbound in place before the cycle (aclear()): the new session has no entry to end.
    calls.length = 0
    await expect(engine.cycle!(token, 'other-key', write({ a: 1 }))).rejects.toBeInstanceOf(UpdateError)
    expect(calls.map(([method]) => method)).toEqual([])
  })

  it('a store failure while ending the old session is passed on, the new one left to its expiry', async () => {
    const { store, calls } = recording()
    const down = new Error('store down')
    store.endCycled = async () => {
      throw down
    }
    const engine = revocable(cookieEngine()(settings), store)
    const { token } = await signedIn(engine)
    calls.length = 0
    await expect(engine.cycle!(token, 'next-key', write({ [USER_ID_KEY]: 'u1', a: 1 }))).rejects.toBe(down)
    expect(calls.map(([method]) => method)).toEqual(['track'])
  })

  it('a cycle from a cookie bound to nobody (a login) ends nothing', async () => {
    const { store, calls } = recording()
    const engine = revocable(cookieEngine()(settings), store)
    const anonymous = await engine.save('', write({ a: 1 }), { mustCreate: true })
    calls.length = 0
    await engine.cycle!(anonymous, 'next-key', write({ [USER_ID_KEY]: 'u1', a: 1 }))
    expect(calls.map(([method]) => method)).toEqual(['track'])
  })

  it('loads a bound cookie whose session the store reports cycled as KEY_CYCLED', async () => {
    const plain = cookieEngine()(settings)
    const { token } = await signedIn(revocable(plain, recording().store))
    const { store } = recording()
    store.isLive = async () => 'cycled'
    expect(await revocable(plain, store).load(token)).toBe(KEY_CYCLED)
  })
})

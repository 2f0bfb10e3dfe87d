/**
 * The core's side of `moveRecord` (src/core/session.ts, `acycleKey()` of a session not loaded yet), against an
 * engine that records its calls: the memory engine with a `moveRecord` of its own. What the core asks for (a move
 * only for an unread session; the restart age, or none under an absolute lifetime), what it does with each answer
 * (the data kept, a logout that won, a key already taken, a store that keeps answering "taken"), and whether the
 * commit writes again. Upstash's own script is tested against Redis in test/upstash-engine.test.ts.
 * Plus the reserved-key writer's two edges (a missing key removed, a read-only session).
 */
import { describe, expect, it } from 'vitest'
import { KEY_CYCLED, type EngineFactory, type SessionEngine } from '../src/core/engine.js'
import type { SessionLifetime } from '../src/core/lifetime.js'
import { writeReserved } from '../src/core/session.js'
import { commitSession } from '../src/core/http.js'
import { memoryEngine } from '../src/engines/memory.js'
import { CreateError, SessionReadOnly, SessionStoreUnavailable } from '../src/errors.js'
import { createSessionStore } from '../src/store.js'

const SECRET = 'session-move-test-secret-0123456789abcdef'

interface Move {
  oldKey: string
  newKey: string
  restartAge: number | null
}

/**
 * A memory engine that can move records. `taken` answers "key taken" (CreateError) to that many moves first;
 * `gone` answers that the old record is gone (a logout won); `failure` is thrown by every move.
 */
function movingStore(options: { lifetime?: SessionLifetime; taken?: number; gone?: boolean; failure?: Error } = {}) {
  const calls: string[] = []
  const moves: Move[] = []
  let taken = options.taken ?? 0
  const engine: EngineFactory = (settings) => {
    const real: SessionEngine = memoryEngine()(settings)
    return {
      load: (key) => (calls.push('load'), real.load(key)),
      save: (key, write, saveOptions) => (calls.push('save'), real.save(key, write, saveOptions)),
      delete: (key, known) => (calls.push('delete'), real.delete(key, known)),
      exists: (key) => real.exists(key),
      clearExpired: () => real.clearExpired(),
      async moveRecord(oldKey, newKey, restartAge) {
        calls.push('move')
        moves.push({ oldKey, newKey, restartAge })
        if (options.failure) throw options.failure
        if (taken > 0) {
          taken--
          throw new CreateError()
        }
        const record = await real.load(oldKey)
        if (options.gone || record === null || record === KEY_CYCLED) return null
        await real.save(newKey, { data: new Map(Object.entries(record)), changed: new Set(Object.keys(record)), deleted: new Set(), replace: true, expiryAge: 600, expiryAgeOf: () => 600 }, { mustCreate: true })
        await real.delete(oldKey)
        return record
      },
    }
  }
  const store = createSessionStore({ secret: SECRET, engine, ...(options.lifetime ? { lifetime: options.lifetime } : {}) })
  return { store, calls, moves }
}

async function seeded(options: Parameters<typeof movingStore>[0] = {}) {
  const moving = movingStore(options)
  const first = moving.store.open()
  await first.aset('cart', [1])
  await first.asave()
  moving.calls.length = 0
  return { ...moving, key: first.sessionKey! }
}

describe('acycleKey() of a session not read yet, on an engine that moves records', () => {
  it('moves the record in one call and keeps its data under the new key; the old key stops loading', async () => {
    const { store, calls, moves, key } = await seeded()
    const session = store.open(key)
    await session.acycleKey()
    expect(calls).toEqual(['move'])
    expect(moves).toEqual([{ oldKey: key, newKey: session.sessionKey, restartAge: 1_209_600 }])
    expect(session.sessionKey).not.toBe(key)
    expect(await session.aget('cart')).toEqual([1])
    expect(await store.open(session.sessionKey).aget('cart')).toEqual([1])
    expect(await store.open(key).aget('cart')).toBeUndefined()
  })

  it('a session already read is cycled by a write of its data, never by a move', async () => {
    const { store, calls, key } = await seeded()
    const session = store.open(key)
    await session.aget('cart')
    await session.acycleKey()
    expect(calls).not.toContain('move')
    expect(await store.open(session.sessionKey).aget('cart')).toEqual([1])
  })

  it('a record gone before the move (a logout won) starts a fresh, empty session under a new key', async () => {
    const { store, calls, key } = await seeded({ gone: true })
    const session = store.open(key)
    await session.acycleKey()
    expect(session.sessionKey).not.toBeNull()
    expect(session.sessionKey).not.toBe(key)
    expect(await session.akeys()).toEqual([])
    // Nothing was moved, so nothing is deleted under the new key: the fresh session is simply created.
    expect(calls).toEqual(['move', 'save'])
  })

  it('restarts the expiry in the move, and the commit does not write again; with an absolute lifetime the age is left to the commit, which writes', async () => {
    const plain = await seeded()
    const moved = plain.store.open(plain.key)
    await moved.acycleKey()
    await commitSession(moved, { hadCookie: true })
    expect(plain.calls).toEqual(['move'])

    const capped = await seeded({ lifetime: { absolute: 3600 } })
    const session = capped.store.open(capped.key)
    await session.acycleKey()
    expect(capped.moves.map((m) => m.restartAge)).toEqual([null])
    await commitSession(session, { hadCookie: true })
    expect(capped.calls).toEqual(['move', 'save'])
  })

  it('a new key already taken is retried with another', async () => {
    const { store, moves, key } = await seeded({ taken: 2 })
    const session = store.open(key)
    await session.acycleKey()
    expect(moves).toHaveLength(3)
    expect(new Set(moves.map((m) => m.newKey)).size).toBe(3)
    expect(session.sessionKey).toBe(moves[2]!.newKey)
    expect(await session.aget('cart')).toEqual([1])
  })

  it('any other failure of the move is passed on at once, not retried', async () => {
    const failure = new TypeError('the store broke')
    const { store, moves, key } = await seeded({ failure })
    await expect(store.open(key).acycleKey()).rejects.toBe(failure)
    expect(moves).toHaveLength(1)
  })

  it('100 taken keys in a row: SessionStoreUnavailable after exactly 100 moves, the store named as the cause', async () => {
    const { store, moves, key } = await seeded({ taken: 1000 })
    const error = await store.open(key).acycleKey().catch((err: unknown) => err)
    expect(error).toBeInstanceOf(SessionStoreUnavailable)
    expect(error).toMatchObject({ code: 'ERR_SESSION_STORE_UNAVAILABLE' })
    expect((error as Error).message).toContain('100 fresh random keys')
    expect(moves).toHaveLength(100)
  })
})

describe('reserved keys', () => {
  it('removing one that is not there changes nothing: not modified, no write', async () => {
    const { store, calls, key } = await seeded()
    const session = store.open(key)
    await session[writeReserved]('_session_started', undefined)
    expect(session.modified).toBe(false)
    await commitSession(session, { hadCookie: true })
    expect(calls).toEqual(['load'])
  })

  it('a read-only session refuses to write one, naming alogin(), the method a developer called', async () => {
    const { store, key } = await seeded()
    const error = await store.open(key, { readOnly: true })[writeReserved]('_session_started', 1).catch((err: unknown) => err)
    expect(error).toBeInstanceOf(SessionReadOnly)
    expect((error as Error).message).toContain('session.alogin()')
  })
})

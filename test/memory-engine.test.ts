/**
 * The memory engine's own rules, beyond the conformance suite: when a record expires (at its expiry instant, to the
 * millisecond), what `size` and `clearExpired()` see, and that a failed write or cycle leaves the store as it was.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { KEY_CYCLED, KEY_CYCLED_SECONDS, memoryEngine, resolveSettings, type Serializer, type SessionWrite } from '../src/index.js'
import { CreateError, UpdateError } from '../src/errors.js'
import type { MemoryEngine } from '../src/engines/memory.js'

const SECRET = 'memory engine test secret, 32+ bytes'
const T0 = new Date('2024-01-01T12:00:00Z').getTime()
const KEY = 'a'.repeat(32)
const OTHER = 'b'.repeat(32)

afterEach(() => vi.useRealTimers())

function write(data: Record<string, unknown>, expiryAge = 60, extra: Partial<SessionWrite> = {}): SessionWrite {
  const map = new Map(Object.entries(data))
  return { data: map, changed: new Set(map.keys()), deleted: new Set(), replace: true, expiryAge, expiryAgeOf: () => expiryAge, ...extra }
}

function engine(serializer?: Serializer): MemoryEngine {
  return memoryEngine()(resolveSettings({ secret: SECRET, serializer }))
}

describe('memory engine', () => {
  it('a record lives until its expiry instant: loaded 1 ms before, gone at it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(T0)
    const e = engine()
    await e.save(KEY, write({ a: 1 }, 60), { mustCreate: true })
    vi.setSystemTime(T0 + 59_999)
    expect(await e.load(KEY)).toEqual({ a: 1 })
    expect(await e.exists(KEY)).toBe(true)
    vi.setSystemTime(T0 + 60_000)
    expect(await e.exists(KEY)).toBe(false)
    expect(await e.load(KEY)).toBeNull()
  })

  it('size counts expired records until they are touched or swept; clearExpired() sweeps only those', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(T0)
    const e = engine()
    await e.save(KEY, write({ a: 1 }, 10), { mustCreate: true })
    await e.save(OTHER, write({ b: 1 }, 100), { mustCreate: true })
    vi.setSystemTime(T0 + 50_000)
    expect(e.size).toBe(2)
    await e.clearExpired()
    expect(e.size).toBe(1)
    expect(await e.load(OTHER)).toEqual({ b: 1 })
  })

  it("a cycle leaves a marker under the old key for KEY_CYCLED_SECONDS: it loads as KEY_CYCLED, is no session to update, exists or cycle, and is swept like a record", async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(T0)
    const e = engine()
    await e.save(KEY, write({ a: 1 }, 3600), { mustCreate: true })
    await e.cycle!(KEY, OTHER, write({ a: 1 }, 3600))
    expect(e.size).toBe(2)
    vi.setSystemTime(T0 + KEY_CYCLED_SECONDS * 1000 - 1)
    expect(await e.load(KEY)).toBe(KEY_CYCLED)
    expect(await e.exists(KEY)).toBe(false)
    await expect(e.save(KEY, write({ a: 2 }), { mustCreate: false })).rejects.toBeInstanceOf(UpdateError)
    await expect(e.save(KEY, write({ a: 2 }), { mustCreate: true })).rejects.toBeInstanceOf(CreateError)
    await expect(e.cycle!(KEY, 'c'.repeat(32), write({ a: 2 }))).rejects.toBeInstanceOf(UpdateError)
    expect(await e.load(KEY)).toBe(KEY_CYCLED)
    vi.setSystemTime(T0 + KEY_CYCLED_SECONDS * 1000)
    await e.clearExpired()
    expect(e.size).toBe(1)
    expect(await e.load(KEY)).toBeNull()
    // A delete (a logout with the old cookie) takes the marker away at once.
    await e.cycle!(OTHER, KEY, write({ a: 1 }, 3600))
    await e.delete(OTHER)
    expect(await e.load(OTHER)).toBeNull()
  })

  it('a write with an expiry age of 0 deletes the record; 1 second keeps it', async () => {
    const e = engine()
    await e.save(KEY, write({ a: 1 }), { mustCreate: true })
    await e.save(KEY, write({ a: 2 }, 1, { replace: false }), { mustCreate: false })
    expect(await e.load(KEY)).toEqual({ a: 2 })
    await e.save(KEY, write({ a: 3 }, 0, { replace: false }), { mustCreate: false })
    expect(e.size).toBe(0)
  })

  it('an update merges into the stored fields: deleted ones go, unchanged ones stay', async () => {
    const e = engine()
    await e.save(KEY, write({ keep: 1, gone: 2, set: 3 }), { mustCreate: true })
    const update = write({ keep: 1, set: 4 }, 60, { changed: new Set(['set']), deleted: new Set(['gone']), replace: false })
    await e.save(KEY, update, { mustCreate: false })
    expect(await e.load(KEY)).toEqual({ keep: 1, set: 4 })
  })

  it('a value the serializer refuses leaves the stored record whole', async () => {
    const picky: Serializer = {
      dumps: (value) => {
        if (value === 'refused') throw new Error('cannot serialize')
        return JSON.stringify(value)
      },
      loads: (text) => JSON.parse(text) as unknown,
    }
    const e = engine(picky)
    await e.save(KEY, write({ a: 1, b: 1 }), { mustCreate: true })
    const failing = write({ a: 2, b: 'refused' }, 60, { replace: false })
    await expect(e.save(KEY, failing, { mustCreate: false })).rejects.toThrow('cannot serialize')
    expect(await e.load(KEY)).toEqual({ a: 1, b: 1 })
  })

  it('a stored value the serializer cannot read loads as no session', async () => {
    const fragile: Serializer = { dumps: (value) => (value === 'poison' ? '{not json' : JSON.stringify(value)), loads: (text) => JSON.parse(text) as unknown }
    const e = engine(fragile)
    await e.save(KEY, write({ a: 'poison' }), { mustCreate: true })
    expect(await e.load(KEY)).toBeNull()
  })

  it('cycle: a taken new key is CreateError, a missing old key UpdateError, and neither writes anything', async () => {
    const e = engine()
    await e.save(KEY, write({ a: 1 }), { mustCreate: true })
    await e.save(OTHER, write({ b: 1 }), { mustCreate: true })
    await expect(e.cycle!(KEY, OTHER, write({ a: 1 }))).rejects.toBeInstanceOf(CreateError)
    expect(await e.load(KEY)).toEqual({ a: 1 })
    const fresh = 'c'.repeat(32)
    await expect(e.cycle!('d'.repeat(32), fresh, write({ a: 1 }))).rejects.toBeInstanceOf(UpdateError)
    expect(await e.exists(fresh)).toBe(false)
    expect(await e.cycle!(KEY, fresh, write({ a: 1 }))).toBe(fresh)
    expect([await e.exists(KEY), await e.load(fresh)]).toEqual([false, { a: 1 }])
  })
})

/**
 * The Redis user-session index (src/users/redis-index.ts) against every reply a store can give, the malformed
 * ones above all, through a scripted `RunScript`: what it sends (keys, arguments), what it makes of each reply,
 * and the compare-and-delete retry of "end every session". test/revocation.test.ts and the revocation
 * conformance suite run it against real Redis, which never sends most of these replies.
 */
import { describe, expect, it } from 'vitest'
import { SessionStoreUnavailable } from '../src/errors.js'
import { sha256Hex } from '../src/lib/crypto.js'
import { redisUserIndex, type RunScript } from '../src/users/redis-index.js'

const PREFIX = 'p:'

interface Call {
  what: string
  keys: string[]
  args: string[]
}

/** A RunScript answering each call with the next reply (a function of the call, a value, or an Error to throw). */
function scripted(...replies: unknown[]): { run: RunScript; calls: Call[] } {
  const calls: Call[] = []
  const run: RunScript = async (what, _script, keys, args) => {
    calls.push({ what, keys, args })
    if (replies.length === 0) throw new Error(`unscripted call: ${what}`)
    const next = replies.shift()
    if (next instanceof Error) throw next
    return typeof next === 'function' ? (next as (call: Call) => unknown)({ what, keys, args }) : next
  }
  return { run, calls }
}

async function refusal(promise: Promise<unknown>): Promise<SessionStoreUnavailable> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(SessionStoreUnavailable)
  expect(err).toMatchObject({ code: 'ERR_SESSION_STORE_UNAVAILABLE' })
  return err as SessionStoreUnavailable
}

const hash = await sha256Hex('user-1')
const INDEX = `${PREFIX}u:${hash}`
const META = `${INDEX}:m`

describe('redisUserIndex keys', () => {
  it('names both keys from the prefix and the sha256 of the user id, never the id itself', async () => {
    const { run } = scripted()
    expect(await redisUserIndex(run, PREFIX).keys('user-1')).toEqual([INDEX, META])
  })
})

describe('isLive', () => {
  it('sends the index keys, the id\'s cycled marker, the id and the time, and reads 1 as live, 2 as cycled, 0 as not', async () => {
    const { run, calls } = scripted(1, 0, 2)
    const index = redisUserIndex(run, PREFIX)
    expect(await index.isLive('user-1', 'sid', 1234)).toBe(true)
    expect(await index.isLive('user-1', 'sid', 1234)).toBe(false)
    expect(await index.isLive('user-1', 'sid', 1234)).toBe('cycled')
    expect(calls[0]).toEqual({ what: 'check a session', keys: [INDEX, META, `${PREFIX}c:sid`], args: ['sid', '1234'] })
  })

  it.each([
    [3, 'number'],
    [-1, 'number'],
    ['1', 'string'],
    [null, 'null'],
    [[1], 'an array of 1'],
  ])('refuses the reply %j as SessionStoreUnavailable, naming its shape', async (reply, shape) => {
    const err = await refusal(redisUserIndex(scripted(reply).run, PREFIX).isLive('user-1', 'sid', 1))
    expect(err.message).toContain('a check')
    expect(err.message).toContain(`(${shape})`)
  })
})

describe('endCycled', () => {
  it('sends the index keys, the marker, the id and the time; 1 is ended and marked, -1 was not live', async () => {
    const { run, calls } = scripted(1, -1)
    const index = redisUserIndex(run, PREFIX)
    expect(await index.endCycled('user-1', 'sid', 1234)).toBe(true)
    expect(await index.endCycled('user-1', 'sid', 1234)).toBe(false)
    expect(calls[0]).toEqual({ what: 'end a cycled session', keys: [INDEX, META, `${PREFIX}c:sid`], args: ['sid', '1234'] })
  })

  it.each([
    [0, 'number'],
    [null, 'null'],
    ['1', 'string'],
  ])('refuses the reply %j as SessionStoreUnavailable, naming its shape', async (reply, shape) => {
    const err = await refusal(redisUserIndex(scripted(reply).run, PREFIX).endCycled('user-1', 'sid', 1))
    expect(err.message).toContain('an end')
    expect(err.message).toContain(`(${shape})`)
  })
})

describe('put', () => {
  it('sends the id, the mode, the expiry in whole ms, the time and the label ("" for none), and returns 1, 0 or -1', async () => {
    const { run, calls } = scripted(1, 0, -1)
    const index = redisUserIndex(run, PREFIX)
    expect(await index.put('user-1', 'sid', 'create', 5000.9, 1000, 'Firefox on Linux')).toBe(1)
    expect(await index.put('user-1', 'sid', 'create', 5000, 1000, null)).toBe(0)
    expect(await index.put('user-1', 'sid', 'update', 5000, 1000, null)).toBe(-1)
    expect(calls[0]).toEqual({ what: 'index a session', keys: [INDEX, META], args: ['sid', 'create', '5000', '1000', 'Firefox on Linux'] })
    expect(calls[1]!.args[4]).toBe('')
    expect(calls[2]!.args[1]).toBe('update')
  })

  it.each([[2], [-2], ['1'], [null]])('refuses the reply %j', async (reply) => {
    const err = await refusal(redisUserIndex(scripted(reply).run, PREFIX).put('user-1', 'sid', 'update', 5000, 1000, null))
    expect(err.message).toContain('an index write')
  })
})

describe('list', () => {
  it('reads id, expiry and entry for each session, oldest login first', async () => {
    const { run, calls } = scripted(['~b', '~9000', '~{"c":2000,"s":3000,"l":"phone"}', '~a', '~8000', '~{"c":1000,"s":4000}'])
    const list = await redisUserIndex(run, PREFIX).list('user-1')
    expect(list).toEqual([
      { id: 'a', created: new Date(1000), lastSeen: new Date(4000), expires: new Date(8000), label: null },
      { id: 'b', created: new Date(2000), lastSeen: new Date(3000), expires: new Date(9000), label: 'phone' },
    ])
    expect(calls[0]!.what).toBe('list sessions')
    expect(calls[0]!.keys).toEqual([INDEX, META])
    expect(Number(calls[0]!.args[0])).toBeGreaterThan(Date.parse('2026-01-01'))
  })

  it('lists an entry whose details are garbled or of the wrong types, with its expiry standing in for the times', async () => {
    const { run } = scripted(['~a', '~8000', '~not json', '~b', '~9000', '~{"c":"1000","s":null,"l":7}'])
    expect(await redisUserIndex(run, PREFIX).list('user-1')).toEqual([
      { id: 'a', created: new Date(8000), lastSeen: new Date(8000), expires: new Date(8000), label: null },
      { id: 'b', created: new Date(9000), lastSeen: new Date(9000), expires: new Date(9000), label: null },
    ])
  })

  it('an empty index is an empty list', async () => {
    expect(await redisUserIndex(scripted([]).run, PREFIX).list('user-1')).toEqual([])
  })

  it.each([
    [null, 'null'],
    ['~a', 'string'],
    [['~a', '~1'], 'an array of 2'],
    [['~a', '~1', '~{}', '~b'], 'an array of 4'],
    [['~a', '1', '~{}'], 'an array of 3'],
    [['~a', '~1', {}], 'an array of 3'],
  ])('refuses the reply %j', async (reply, shape) => {
    const err = await refusal(redisUserIndex(scripted(reply).run, PREFIX).list('user-1'))
    expect(err.message).toContain('a list')
    expect(err.message).toContain(`(${shape})`)
  })
})

describe('end, by ids', () => {
  it('makes no call for no ids', async () => {
    const { run, calls } = scripted()
    await redisUserIndex(run, PREFIX, (id) => `rec:${id}`).end('user-1', { ids: [] })
    expect(calls).toEqual([])
  })

  it('sends the ids, and with records their keys in the same order', async () => {
    const { run, calls } = scripted(1, 1)
    await redisUserIndex(run, PREFIX).end('user-1', { ids: ['a', 'b'] })
    await redisUserIndex(run, PREFIX, (id) => `rec:${id}`).end('user-1', { ids: ['a', 'b'] })
    expect(calls[0]).toEqual({ what: 'end sessions', keys: [INDEX, META], args: ['ids', '', '0', 'a', 'b'] })
    expect(calls[1]).toEqual({ what: 'end sessions', keys: [INDEX, META, 'rec:a', 'rec:b'], args: ['ids', '', '1', 'a', 'b'] })
  })

  it.each([[0], [null], ['1']])('refuses the reply %j', async (reply) => {
    const err = await refusal(redisUserIndex(scripted(reply).run, PREFIX).end('user-1', { ids: ['a'] }))
    expect(err.message).toContain('an end')
  })
})

describe('end, all but one, without records (the revocation store)', () => {
  it('is one call naming the id to keep ("" for none)', async () => {
    const { run, calls } = scripted(1, 1)
    const index = redisUserIndex(run, PREFIX)
    await index.end('user-1', { allExcept: 'keep' })
    await index.end('user-1', { allExcept: null })
    expect(calls).toEqual([
      { what: 'end sessions', keys: [INDEX, META], args: ['all', 'keep', '0'] },
      { what: 'end sessions', keys: [INDEX, META], args: ['all', '', '0'] },
    ])
  })

  it.each([[0], [null]])('refuses the reply %j', async (reply) => {
    const err = await refusal(redisUserIndex(scripted(reply).run, PREFIX).end('user-1', { allExcept: null }))
    expect(err.message).toContain('an end')
  })
})

describe('end, all but one, with records (the Upstash engine): compare-and-delete', () => {
  const recordKey = (id: string) => `rec:${id}`

  it('reads the members, then ends exactly those, naming their records', async () => {
    const { run, calls } = scripted(['~a', '~b'], 1)
    await redisUserIndex(run, PREFIX, recordKey).end('user-1', { allExcept: 'b' })
    expect(calls).toEqual([
      { what: 'list sessions', keys: [INDEX], args: [] },
      { what: 'end sessions', keys: [INDEX, META, 'rec:a', 'rec:b'], args: ['all', 'b', '1', 'a', 'b'] },
    ])
  })

  it('reads again when a login landed between the read and the end (reply 0), and stops at the first 1', async () => {
    const { run, calls } = scripted(['~a'], 0, ['~a', '~c'], 1)
    await redisUserIndex(run, PREFIX, recordKey).end('user-1', { allExcept: null })
    expect(calls.map((c) => c.args)).toEqual([[], ['all', '', '1', 'a'], [], ['all', '', '1', 'a', 'c']])
  })

  it('gives up with SessionStoreUnavailable after losing 10 times in a row, having tried exactly 10 times', async () => {
    const replies = Array.from({ length: 10 }, () => [['~a'], 0]).flat()
    const { run, calls } = scripted(...replies, ['~a'], 1)
    const err = await refusal(redisUserIndex(run, PREFIX, recordKey).end('user-1', { allExcept: null }))
    expect(err.message).toContain('10 times')
    expect(calls.length).toBe(20)
  })

  it.each([
    [null, 'null'],
    [['a'], 'an array of 1'],
    [['~a', 5], 'an array of 2'],
  ])('refuses the members reply %j', async (members, shape) => {
    const err = await refusal(redisUserIndex(scripted(members).run, PREFIX, recordKey).end('user-1', { allExcept: null }))
    expect(err.message).toContain('a members read')
    expect(err.message).toContain(`(${shape})`)
  })

  it.each([[2], [null], [-1]])('refuses the end reply %j', async (reply) => {
    const err = await refusal(redisUserIndex(scripted(['~a'], reply).run, PREFIX, recordKey).end('user-1', { allExcept: null }))
    expect(err.message).toContain('an end')
  })
})

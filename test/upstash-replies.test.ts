/**
 * What the Upstash engine does with each reply a store can give, the malformed ones above all, and with each
 * client option. A scripted client stands in for Upstash: a real server never sends most of these replies, which
 * is why they need a stand-in (test/upstash-engine.test.ts runs the engine against real Redis).
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createSessionStore, KEY_CYCLED } from '../src/index.js'
import { newSessionKey } from '../src/core/keys.js'
import { SessionConfigError, SessionInterrupted, SessionStoreUnavailable, UpdateError } from '../src/errors.js'
import { upstashEngine, type UpstashClient, type UpstashEngineOptions } from '../src/engines/upstash.js'

const SECRET = 'upstash replies test secret, 32+ bytes'

type Reply = unknown | ((args: string[]) => unknown)

/** A client that answers each call with the next scripted reply (or throws it, when it is an Error), and records the calls. */
function scripted(replies: { eval?: Reply[]; del?: Reply[] } = {}) {
  const calls: { method: string; keys: string[]; args: string[] }[] = []
  const answer = (method: 'eval' | 'del', keys: string[], args: string[]) => {
    calls.push({ method, keys, args })
    const queue = replies[method] ?? []
    if (queue.length === 0) throw new Error(`unscripted ${method} call`)
    const next = queue.shift()
    const reply = typeof next === 'function' ? (next as (a: string[]) => unknown)(args) : next
    if (reply instanceof Error) return Promise.reject(reply)
    return Promise.resolve(reply)
  }
  const client = {
    eval: (_script: string, keys: string[], args: string[]) => answer('eval', keys, args),
    del: (...keys: string[]) => answer('del', keys, []),
  }
  return { client: client as unknown as UpstashClient, calls }
}

function storeWith(client: UpstashClient, options: { cookieAge?: number } = {}) {
  return createSessionStore({ secret: SECRET, ...options, engine: upstashEngine({ redis: client }) })
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  )
  if (!('error' in outcome)) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`)
  return outcome.error as Error
}

/** A stored field as the LOAD script returns it: "~" + `<position>:<json>`. */
const field = (name: string, position: number, value: unknown) => [`~${name}`, `~${position}:${JSON.stringify(value)}`]

describe('LOAD replies', () => {
  it('a well-formed reply loads in stored position order, without the record marker', async () => {
    const { client } = scripted({ eval: [['~_record', '~3', ...field('b', 2, 'second'), ...field('a', 1, { n: 1 }), ...field('c', 3, null)]] })
    expect(await storeWith(client).engine.load(newSessionKey())).toEqual({ a: { n: 1 }, b: 'second', c: null })
    const { client: again } = scripted({ eval: [['~_record', '~3', ...field('b', 2, 'second'), ...field('a', 1, 1), ...field('c', 3, null)]] })
    expect(Object.keys((await storeWith(again).engine.load(newSessionKey()))!)).toEqual(['a', 'b', 'c'])
  })

  it('a record holding only its marker is an empty session; no record (nil) is no session', async () => {
    const { client } = scripted({ eval: [['~_record', '~0'], null] })
    const store = storeWith(client)
    expect(await store.engine.load(newSessionKey())).toEqual({})
    expect(await store.engine.load(newSessionKey())).toBeNull()
  })

  it('"~cycled" is a key a key cycle moved away from: KEY_CYCLED, no data', async () => {
    const { client } = scripted({ eval: ['~cycled'] })
    expect(await storeWith(client).engine.load(newSessionKey())).toBe(KEY_CYCLED)
  })

  const malformed: Record<string, [reply: unknown, shape: string]> = {
    'a string': ['OK', 'string'],
    'a "~" string other than the cycled mark': ['~cycled2', 'string'],
    'a number': [1, 'number'],
    'an object': [{ a: 1 }, 'object'],
    'an odd-length array': [['~a'], 'an array of 1'],
    'a field without the "~" mark': [['a', '~1:1'], 'an array of 2'],
    'a value without the "~" mark after a good field': [['~_record', '~1', '~a', '1:"card-4111"'], 'an array of 4'],
    'a value that is not a string': [['~_record', '~1', '~a', 7], 'an array of 4'],
  }
  for (const [name, [reply, shape]] of Object.entries(malformed)) {
    it(`${name} is SessionStoreUnavailable naming the reply's shape, never an empty session`, async () => {
      const { client } = scripted({ eval: [reply] })
      const error = await failure(storeWith(client).open(newSessionKey()).aget('a'))
      expect(error).toBeInstanceOf(SessionStoreUnavailable)
      expect(error).toMatchObject({ code: 'ERR_SESSION_STORE_UNAVAILABLE' })
      expect(error.message).toContain(`answered a load with an unexpected reply (${shape})`)
      // The shape only: a reply can hold session data.
      expect(error.message).not.toContain('card-4111')
    })
  }

  it('a stored value without its position, or that the serializer cannot read, is a malformed record: no session', async () => {
    for (const bad of [['~_record', '~1', '~a', '~"no position"'], ['~_record', '~1', '~a', '~1:{not json']]) {
      const { client } = scripted({ eval: [bad] })
      expect(await storeWith(client).engine.load(newSessionKey())).toBeNull()
    }
  })
})

describe('save replies', () => {
  it('0 to a create means the key is taken: the core retries on a fresh key', async () => {
    const { client, calls } = scripted({ eval: [0, 1] })
    const session = storeWith(client).open()
    await session.aset('a', 1)
    await session.asave()
    expect(calls).toHaveLength(2)
    expect(calls[0]!.keys[0]).not.toBe(calls[1]!.keys[0])
  })

  it('-1 to an update means the session was deleted meanwhile: SessionInterrupted', async () => {
    const { client } = scripted({ eval: [[...field('a', 1, 1)], -1] })
    const session = storeWith(client).open(newSessionKey())
    await session.aset('b', 2)
    expect(await failure(session.asave())).toBeInstanceOf(SessionInterrupted)
  })

  const strange: [reply: unknown, shape: string][] = [
    [2, 'number'],
    ['OK', 'string'],
    [null, 'null'],
    ['~"a stored expiry, to a create"', 'string'],
  ]
  for (const [reply, shape] of strange) {
    it(`${JSON.stringify(reply)} to a create is SessionStoreUnavailable`, async () => {
      const { client } = scripted({ eval: [reply] })
      const session = storeWith(client).open()
      await session.aset('a', 1)
      const error = await failure(session.asave())
      expect(error).toBeInstanceOf(SessionStoreUnavailable)
      expect(error.message).toContain(`answered a save with an unexpected reply (${shape})`)
    })
  }

  for (const [reply, shape] of [[2, 'number'], ['OK', 'string'], [['~1'], 'an array of 1']] as const) {
    it(`${JSON.stringify(reply)} to an update is SessionStoreUnavailable`, async () => {
      const { client } = scripted({ eval: [[...field('a', 1, 1)], reply] })
      const session = storeWith(client).open(newSessionKey())
      await session.aset('b', 2)
      const error = await failure(session.asave())
      expect(error).toBeInstanceOf(SessionStoreUnavailable)
      expect(error.message).toContain(`answered a save with an unexpected reply (${shape})`)
    })
  }

  it('a key newSessionKey() cannot have made is refused before any request: TypeError to create, UpdateError to update', async () => {
    const { client, calls } = scripted()
    const { engine } = storeWith(client)
    const write = { data: new Map([['a', 1]]), changed: new Set(['a']), deleted: new Set<string>(), replace: true, expiryAge: 60, expiryAgeOf: () => 60 }
    const foreign = 'not-one-of-ours-0123456789'
    const refused = await failure(engine.save(foreign, write, { mustCreate: true }))
    expect(refused).toBeInstanceOf(TypeError)
    expect(refused.message).toContain('a session key is 32 characters of [a-z0-9]')
    expect(await failure(engine.save(foreign, write, { mustCreate: false }))).toBeInstanceOf(UpdateError)
    expect(await failure(engine.cycle!(newSessionKey(), foreign, write))).toBeInstanceOf(TypeError)
    expect(await failure(engine.cycle!(foreign, newSessionKey(), write))).toBeInstanceOf(UpdateError)
    expect(calls).toHaveLength(0)
  })

  it('the stored expiry a save expects is the one it loaded; a record found without one gets the default age', async () => {
    const { client, calls } = scripted({ eval: [[...field('a', 1, 1), ...field('_session_expiry', 2, 60)], '~', 1] })
    const session = storeWith(client, { cookieAge: 600 }).open(newSessionKey())
    await session.aset('b', 2)
    await session.asave()
    expect(calls[1]!.args.slice(1, 6)).toEqual(['update', '60000', '0', '1', '60'])
    expect(calls[2]!.args.slice(1, 6)).toEqual(['update', '600000', '0', '1', ''])
  })

  it('the arguments: TTL in milliseconds rounded up, replace for a create, the changed fields in order', async () => {
    const { client, calls } = scripted({ eval: [1] })
    const session = storeWith(client).open()
    await session.aset('z', 'last set first')
    await session.aset('a', { nested: true })
    await session.asetExpiry(1.0004)
    await session.asave()
    // [index block length, mode, ttl, replace, check expiry, expected expiry, deleted count, ...pairs]
    const args = calls[0]!.args
    expect(args.slice(0, 7)).toEqual(['0', 'create', '1001', '1', '0', '1.0004', '0'])
    expect(args.slice(7)).toEqual(['z', '"last set first"', 'a', '{"nested":true}', '_session_expiry', '1.0004'])
  })

  it('an update sends the deleted fields, and checks that the stored expiry is the one it computed the TTL from', async () => {
    const { client, calls } = scripted({ eval: [[...field('gone', 1, 1), ...field('kept', 2, 2)], 1] })
    const session = storeWith(client, { cookieAge: 600 }).open(newSessionKey())
    await session.adelete('gone')
    await session.aset('new', 3)
    await session.asave()
    expect(calls[1]!.args).toEqual(['0', 'update', '600000', '0', '1', '', '1', 'gone', 'new', '3'])
  })

  it('a stored expiry changed meanwhile: the save is retried with the TTL of the stored expiry', async () => {
    const { client, calls } = scripted({ eval: [[...field('a', 1, 1)], '~90', 1] })
    const session = storeWith(client, { cookieAge: 600 }).open(newSessionKey())
    await session.aset('b', 2)
    await session.asave()
    expect(calls).toHaveLength(3)
    expect(calls[1]!.args.slice(1, 6)).toEqual(['update', '600000', '0', '1', ''])
    expect(calls[2]!.args.slice(1, 6)).toEqual(['update', '90000', '0', '1', '90'])
  })

  it('a stored expiry that cannot be read counts as expired (TTL 0), never as the default age', async () => {
    const { client, calls } = scripted({ eval: [[...field('a', 1, 1)], '~{garbled', 1] })
    const session = storeWith(client, { cookieAge: 600 }).open(newSessionKey())
    await session.aset('b', 2)
    await session.asave()
    expect(calls[2]!.args.slice(1, 6)).toEqual(['update', '0', '0', '1', '{garbled'])
  })

  it('an expiry that keeps changing under the save gives up after 3 attempts: SessionStoreUnavailable', async () => {
    const { client, calls } = scripted({ eval: [[...field('a', 1, 1)], '~10', '~20', '~30', 1] })
    const session = storeWith(client).open(newSessionKey())
    await session.aset('b', 2)
    const error = await failure(session.asave())
    expect(error).toBeInstanceOf(SessionStoreUnavailable)
    expect(error.message).toContain('3 save attempts')
    expect(calls).toHaveLength(4)
  })
})

describe('delete and exists replies', () => {
  it('exists: 1 is a session, 0 is none (or a cycled key\'s marker), anything else is SessionStoreUnavailable', async () => {
    const { client } = scripted({ eval: [1, 0, '1', null, 2] })
    const { engine } = storeWith(client)
    expect(await engine.exists(newSessionKey())).toBe(true)
    expect(await engine.exists(newSessionKey())).toBe(false)
    for (let i = 0; i < 3; i++) {
      const error = await failure(engine.exists(newSessionKey()))
      expect(error).toBeInstanceOf(SessionStoreUnavailable)
      expect(error.message).toContain('answered an exists with an unexpected reply')
    }
  })

  it('delete: 0 (no user bound) is done; a reply of another shape is SessionStoreUnavailable', async () => {
    const { client, calls } = scripted({ eval: [0, 1, 'OK', '~no position'] })
    const { engine } = storeWith(client)
    await engine.delete(newSessionKey())
    expect(calls).toHaveLength(1)
    // Not known to be bound to a user: the record's key alone, and no user for the script to check.
    expect(calls[0]!.keys).toHaveLength(1)
    expect(calls[0]!.args).toEqual([])
    for (let i = 0; i < 3; i++) {
      const error = await failure(engine.delete(newSessionKey()))
      expect(error).toBeInstanceOf(SessionStoreUnavailable)
      expect(error.message).toContain('answered a delete with an unexpected reply')
    }
  })

  it('a failed request names the operation: load, save, delete or look up a session', async () => {
    const down = () => new Error('connect ECONNREFUSED')
    const { client } = scripted({ eval: [down(), down(), down(), down()] })
    const { engine } = storeWith(client)
    const write = { data: new Map(), changed: new Set<string>(), deleted: new Set<string>(), replace: true, expiryAge: 60, expiryAgeOf: () => 60 }
    // Started one at a time: a rejection created before its handler is attached is an unhandled rejection.
    const attempts: [string, () => Promise<unknown>][] = [
      ['load a session', () => engine.load(newSessionKey())],
      ['save a session', () => engine.save(newSessionKey(), write, { mustCreate: true })],
      ['delete a session', () => engine.delete(newSessionKey())],
      ['look up a session', () => engine.exists(newSessionKey())],
    ]
    for (const [what, attempt] of attempts) {
      const error = await failure(attempt())
      expect(error).toBeInstanceOf(SessionStoreUnavailable)
      expect(error.message).toContain(`Upstash failed to ${what} (Error: connect ECONNREFUSED)`)
    }
  })

  it('delete: a user field the serializer cannot read ends with the record; nothing else is asked', async () => {
    const { client, calls } = scripted({ eval: ['~1:{garbled'] })
    await storeWith(client).engine.delete(newSessionKey())
    expect(calls).toHaveLength(1)
  })

  it('a key newSessionKey() cannot have made costs no request: no session, nothing to delete', async () => {
    const { client, calls } = scripted()
    const { engine } = storeWith(client)
    for (const key of ['a'.repeat(31), 'a'.repeat(33), `A${'a'.repeat(31)}`, `${'a'.repeat(31)}-`]) {
      expect(await engine.load(key)).toBeNull()
      expect(await engine.exists(key)).toBe(false)
      await engine.delete(key)
    }
    expect(calls).toHaveLength(0)
  })
})

describe('a client that throws', () => {
  it('is SessionStoreUnavailable whose message and cause keep the error, less the request @upstash/redis appends', async () => {
    const original = new TypeError('fetch failed, command was: ["EVAL","card-4111"]', { cause: new Error('ECONNREFUSED, command was: card-4111') })
    const { client } = scripted({ eval: [original] })
    const error = await failure(storeWith(client).open(newSessionKey()).aget('a'))
    expect(error).toBeInstanceOf(SessionStoreUnavailable)
    expect(error.message).toContain('Upstash failed to load a session (TypeError: fetch failed)')
    const cause = error.cause as Error
    expect(cause).not.toBe(original)
    expect([cause.name, cause.message]).toEqual(['TypeError', 'fetch failed'])
    expect((cause.cause as Error).message).toBe('ECONNREFUSED')
    // A copy for each cause there is, and none made up after the last.
    expect((cause.cause as Error).cause).toBeUndefined()
    expect(JSON.stringify([error.message, cause.message, (cause.cause as Error).message])).not.toContain('card-4111')
  })

  it('a thrown non-Error is described as text; a circular cause chain is copied a few levels deep, not forever', async () => {
    const { client } = scripted({ eval: ['plain text failure, command was: card-4111'] })
    // A rejected string: the scripted client only rejects Errors, so wrap the call.
    const rejecting = { ...client, eval: () => Promise.reject('plain text failure, command was: card-4111') } as unknown as UpstashClient
    const error = await failure(storeWith(rejecting).open(newSessionKey()).aget('a'))
    expect(error.message).toContain('(plain text failure)')
    expect(error.message).not.toContain('card-4111')

    const looped = new Error('loop')
    looped.cause = looped
    const { client: loopy } = scripted({ eval: [looped] })
    const loopError = await failure(storeWith(loopy).open(newSessionKey()).aget('a'))
    expect(loopError).toBeInstanceOf(SessionStoreUnavailable)
    // The error's cause, and three of its own causes: enough for a refused connection's reason.
    let depth = 0
    for (let c = loopError.cause as Error | undefined; c; c = c.cause as Error | undefined) depth++
    expect(depth).toBe(4)
  })

  it('keeps a long message to its first 300 characters', async () => {
    const { client } = scripted({ eval: [new Error('x'.repeat(1000))] })
    const error = await failure(storeWith(client).open(newSessionKey()).aget('a'))
    expect(error.message).toContain(`(Error: ${'x'.repeat(300)})`)
    expect((error.cause as Error).message).toHaveLength(300)
  })
})

describe('client options', () => {
  afterEach(() => vi.unstubAllEnvs())

  function noEnvironment(): void {
    for (const name of ['UPSTASH_REDIS_REST_URL', 'UPSTASH_REDIS_REST_TOKEN', 'KV_REST_API_URL', 'KV_REST_API_TOKEN']) vi.stubEnv(name, '')
  }

  function configError(options: UpstashEngineOptions): SessionConfigError {
    try {
      createSessionStore({ secret: SECRET, engine: upstashEngine(options) })
    } catch (err) {
      expect(err).toBeInstanceOf(SessionConfigError)
      expect(err).toMatchObject({ code: 'ERR_SESSION_CONFIG' })
      return err as SessionConfigError
    }
    throw new Error(`accepted ${JSON.stringify(options)}`)
  }

  const server = { url: 'http://127.0.0.1:1', token: 'token' }

  it('timeoutMs must be a positive, finite number of milliseconds; 1 is the least', () => {
    for (const timeoutMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      const error = configError({ redis: server, timeoutMs })
      expect(error.option).toBe('timeoutMs')
      expect(error.message).toContain('positive number of milliseconds')
    }
    expect(() => createSessionStore({ secret: SECRET, engine: upstashEngine({ redis: server, timeoutMs: 1 }) })).not.toThrow()
  })

  it('timeoutMs with a client of your own is refused, saying where the timeout goes instead', () => {
    const { client } = scripted()
    const error = configError({ redis: client, timeoutMs: 100 })
    expect(error.option).toBe('timeoutMs')
    expect(error.message).toContain('signal: () => AbortSignal.timeout(ms)')
  })

  it('a client missing del() is refused, naming the method', () => {
    const { client } = scripted()
    const partial = { ...client, del: undefined } as unknown as UpstashClient
    const error = configError({ redis: partial })
    expect(error.option).toBe('redis')
    expect(error.message).toContain('it has no del()')
  })

  it('{ url, token } must both be strings', () => {
    for (const redis of [{ url: server.url, token: 5 }, { url: 5, token: 'token' }, { token: 'token' }, 'redis://x', null]) {
      const error = configError({ redis: redis as never })
      expect(error.option).toBe('redis')
      expect(error.message).toContain('{ url, token } strings')
    }
  })

  it('a url without a token, or a token without a url, is "missing", naming the environment variables to set', () => {
    noEnvironment()
    for (const redis of [{ url: server.url, token: '' }, { url: '', token: 'token' }, undefined]) {
      const error = configError({ redis })
      expect(error.option).toBe('redis')
      expect(error.message).toContain('is missing')
      for (const name of ['UPSTASH_REDIS_REST_URL', 'UPSTASH_REDIS_REST_TOKEN', 'KV_REST_API_URL', 'KV_REST_API_TOKEN']) expect(error.message).toContain(name)
    }
  })

  it('the url and token come from UPSTASH_REDIS_REST_*, else KV_REST_API_*, one of each pair being enough', () => {
    noEnvironment()
    vi.stubEnv('UPSTASH_REDIS_REST_URL', server.url)
    vi.stubEnv('KV_REST_API_TOKEN', 'token')
    expect(() => createSessionStore({ secret: SECRET, engine: upstashEngine() })).not.toThrow()
    vi.stubEnv('UPSTASH_REDIS_REST_URL', '')
    vi.stubEnv('KV_REST_API_URL', server.url)
    vi.stubEnv('KV_REST_API_TOKEN', '')
    expect(configError({}).option).toBe('redis')
  })

  it('a url the client cannot use is "redis" with the reason', () => {
    const error = configError({ redis: { url: 'not a url', token: 'token' } })
    expect(error.option).toBe('redis')
    expect(error.message).toContain('has an invalid url')
  })

  it('prefix must be a string, and is refused when the engine is made', () => {
    expect(() => upstashEngine({ prefix: 5 as never })).toThrow(expect.objectContaining({ option: 'prefix', code: 'ERR_SESSION_CONFIG' }))
    expect(() => upstashEngine({ prefix: 5 as never })).toThrow('"prefix" must be a string.')
  })

  it('the prefix names every key the engine asks for; the default is "edge-session:"', async () => {
    const key = newSessionKey()
    for (const [prefix, expected] of [[undefined, 'edge-session:'], ['app1:', 'app1:']] as const) {
      const { client, calls } = scripted({ eval: [null] })
      const store = createSessionStore({ secret: SECRET, engine: upstashEngine({ redis: client, ...(prefix ? { prefix } : {}) }) })
      await store.engine.load(key)
      expect(calls[0]!.keys[0]).toMatch(new RegExp(`^${expected}[0-9a-f]{64}$`))
    }
  })
})

describe('move replies (acycleKey() of a session not read yet)', () => {
  const move = (client: UpstashClient, oldKey: string, restartAge: number | null) => storeWith(client).engine.moveRecord!(oldKey, newSessionKey(), restartAge)

  it('an old key newSessionKey() cannot have made is no session, at no request', async () => {
    const { client, calls } = scripted()
    expect(await move(client, 'not-a-session-key', 600)).toBeNull()
    expect(calls).toEqual([])
  })

  it('the arguments: the restart age in milliseconds rounded up, or "" when the data decides it (an absolute lifetime)', async () => {
    const { client, calls } = scripted({ eval: [-1, -1] })
    await move(client, newSessionKey(), 1.0005)
    await move(client, newSessionKey(), null)
    expect(calls.map((c) => c.args)).toEqual([
      ['1001', ''],
      ['', ''],
    ])
    expect(calls[0]!.keys).toHaveLength(2)
  })

  it('a restart age over 400 days is refused before any request', async () => {
    const { client, calls } = scripted()
    await expect(move(client, newSessionKey(), 400 * 86400 + 1)).rejects.toMatchObject({ code: 'ERR_SESSION_EXPIRY_TOO_LONG' })
    expect(calls).toEqual([])
  })

  it('0 means the new key is taken (CreateError, the core draws another); -1 means no record (a logout won)', async () => {
    const { client } = scripted({ eval: [0, -1] })
    await expect(move(client, newSessionKey(), 600)).rejects.toMatchObject({ code: 'ERR_SESSION_KEY_TAKEN' })
    expect(await move(client, newSessionKey(), 600)).toBeNull()
  })

  it('a reply of another shape is SessionStoreUnavailable naming the move and the shape', async () => {
    const { client } = scripted({ eval: [7, 'plain text'] })
    for (let i = 0; i < 2; i++) {
      const error = await failure(move(client, newSessionKey(), 600))
      expect(error).toBeInstanceOf(SessionStoreUnavailable)
      expect(error.message).toMatch(/a move with an unexpected reply \((number|string)\)/)
    }
  })

  it('a moved record that cannot be read is deleted under its new key and no session; a failed delete names it', async () => {
    const { client, calls } = scripted({ eval: [['~_record', '~1', '~a', '~no position']], del: [1] })
    expect(await move(client, newSessionKey(), 600)).toBeNull()
    expect(calls.map((c) => c.method)).toEqual(['eval', 'del'])
    expect(calls[1]!.keys).toEqual([calls[0]!.keys[0]])
    const failing = scripted({ eval: [['~_record', '~1', '~a', '~no position']], del: [new Error('down')] })
    expect((await failure(move(failing.client, newSessionKey(), 600))).message).toContain('delete a session')
  })
})

/**
 * The local Upstash REST server (scripts/upstash-rest-server.ts) against the real @upstash/redis client,
 * and its wire format checked by hand (shared/reference/upstash-rest-protocol.md §7).
 */
import type { RedisConfigNodejs } from '@upstash/redis'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { upstashFixture, uniquePrefix } from './support/upstash.js'

const fx = await upstashFixture()
afterAll(() => fx?.close())
const p = uniquePrefix('server')

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown; headers: Headers }> {
  const res = await fetch(fx!.server.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${fx!.server.token}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, json: JSON.parse(text), headers: res.headers }
}

const configs: Record<string, Partial<RedisConfigNodejs>> = {
  defaults: {},
  'automaticDeserialization:false': { automaticDeserialization: false },
  'responseEncoding:false': { responseEncoding: false },
  'enableAutoPipelining:false': { enableAutoPipelining: false },
}

describe.skipIf(!fx)('the @upstash/redis client against the local server', () => {
  for (const [name, options] of Object.entries(configs)) {
    describe(name, () => {
      const raw = options.automaticDeserialization === false
      const k = (s: string): string => `${p}${name}:${s}`

      it('set/get of unicode and JSON-looking strings, with TTLs', async () => {
        const redis = fx!.client(options)
        expect(await redis.set(k('s'), 'héllo ✓ wörld', { ex: 60 })).toBe('OK')
        expect(await redis.get(k('s'))).toBe('héllo ✓ wörld')
        expect(await redis.ttl(k('s'))).toBeGreaterThan(55)
        await redis.set(k('j'), { a: [1, 'ü'] })
        expect(await redis.get(k('j'))).toEqual(raw ? '{"a":[1,"ü"]}' : { a: [1, 'ü'] })
        expect(await redis.set(k('s'), 'x', { nx: true })).toBeNull()
        expect(await redis.del(k('s'), k('j'), k('missing'))).toBe(2)
        expect(await redis.exists(k('s'))).toBe(0)
      })

      it('hash commands keep RESP2 shapes', async () => {
        const redis = fx!.client(options)
        expect(await redis.hset(k('h'), { f: 'v', n: 7 })).toBe(2)
        expect(await redis.hgetall(k('h'))).toEqual(raw ? ['f', 'v', 'n', '7'] : { f: 'v', n: 7 })
        expect(await redis.hget(k('h'), 'f')).toBe('v')
        expect(await redis.hdel(k('h'), 'f')).toBe(1)
        expect(await redis.hgetall(k('missing'))).toEqual(raw ? [] : null)
      })

      it('eval returns nested arrays, integers and status replies', async () => {
        const redis = fx!.client(options)
        await redis.set(k('e'), 'value')
        const result = await redis.eval("return {1, redis.call('SET', KEYS[1], ARGV[1]), redis.call('GET', KEYS[1]), {'a', 2}}", [k('e')], ['new'])
        expect(result).toEqual([1, 'OK', 'new', ['a', 2]])
        const script = redis.createScript<string>("return redis.call('GET', KEYS[1])")
        expect(await script.exec([k('e')], [])).toBe('new')
      })

      it('pipeline: per-item results and errors', async () => {
        const redis = fx!.client(options)
        await redis.hset(k('wrong'), { a: 1 })
        const pipeline = redis.pipeline()
        pipeline.set(k('p'), 'v')
        pipeline.get(k('wrong'))
        pipeline.get(k('p'))
        const results = await pipeline.exec({ keepErrors: true })
        expect(results[0]).toEqual({ result: 'OK', error: undefined })
        expect(results[1]!.error).toMatch(/^WRONGTYPE/)
        expect(results[2]!.result).toBe('v')
        await expect(redis.get(k('wrong'))).rejects.toThrow(/WRONGTYPE/)
      })

      it('multi-exec: atomic, run-time errors per item, queue-time errors reject the whole transaction', async () => {
        const redis = fx!.client(options)
        await redis.hset(k('mwrong'), { a: 1 })
        const multi = redis.multi()
        multi.incr(k('m'))
        multi.incr(k('mwrong'))
        multi.incr(k('m'))
        const results = await multi.exec({ keepErrors: true })
        expect(results[0]!.result).toBe(1)
        expect(results[1]!.error).toMatch(/WRONGTYPE/)
        expect(results[2]!.result).toBe(2)
        // Hand-made: an unknown command is a queue-time error, which the typed client cannot send.
        const status = await post('/multi-exec', [['incr', k('m2')], ['nosuchcommand']])
        expect(status.status).toBe(400)
        expect((status.json as { error: string }).error).toMatch(/^EXECABORT/)
        expect(await redis.get(k('m2'))).toBeNull()
      })

      it('a wrong token is an UpstashError', async () => {
        const redis = fx!.client({ ...options, token: 'wrong' })
        await expect(redis.get(k('x'))).rejects.toThrow(/Unauthorized/)
      })
    })
  }
})

describe.skipIf(!fx)('the wire format', () => {
  beforeEach(() => {
    fx!.server.faults.clear()
    fx!.server.stats.reset()
  })

  it('base64: every string at every depth, a top-level OK as is, integers and null untouched', async () => {
    const b64 = { 'upstash-encoding': 'base64' }
    expect((await post('/', ['set', `${p}b`, 'hi'], b64)).json).toEqual({ result: 'OK' })
    expect((await post('/', ['get', `${p}b`], b64)).json).toEqual({ result: 'aGk=' })
    const nested = await post('/', ['eval', "return {redis.call('SET', KEYS[1], 'x'), 5, false, 'é'}", 1, `${p}b`], b64)
    expect(nested.json).toEqual({ result: ['T0s=', 5, null, Buffer.from('é').toString('base64')] })
    expect((await post('/', ['get', `${p}b`])).json).toEqual({ result: 'x' })
    expect((await post('/pipeline', [['incr', `${p}n`], ['get', `${p}n`]], b64)).json).toEqual([{ result: 1 }, { result: 'MQ==' }])
  })

  it('non-string arguments are turned into strings', async () => {
    expect((await post('/', ['set', `${p}num`, 12.5, 'ex', 60])).json).toEqual({ result: 'OK' })
    expect((await post('/', ['get', `${p}num`])).json).toEqual({ result: '12.5' })
    expect((await post('/', ['set', `${p}bool`, true])).json).toEqual({ result: 'OK' })
    expect((await post('/', ['get', `${p}bool`])).json).toEqual({ result: 'true' })
  })

  it('errors: 400 for a Redis error or a bad body, 401 without the token, 405 for GET, 404 elsewhere', async () => {
    const arity = await post('/', ['get'])
    expect(arity.status).toBe(400)
    expect(arity.json).toEqual({ error: expect.stringMatching(/wrong number of arguments/) })
    expect((await post('/', '{not json')).status).toBe(400)
    expect((await post('/', { a: 1 })).status).toBe(400)
    expect((await post('/', ['multi'])).status).toBe(400)
    const noToken = await post('/', ['ping'], { authorization: '' })
    expect([noToken.status, noToken.json]).toEqual([401, { error: 'Unauthorized' }])
    expect((await post('/', ['ping'], { authorization: 'Bearer nope' })).status).toBe(401)
    const get = await fetch(fx!.server.url + '/')
    expect([get.status, await get.json()]).toEqual([405, { error: 'Method not allowed' }])
    expect((await post('/get/foo', ['ping'])).status).toBe(404)
  })

  it('caps the body at 1 MiB', async () => {
    const big = await post('/', ['set', `${p}big`, 'x'.repeat(1024 * 1024)])
    expect([big.status, big.json]).toEqual([400, { error: 'ERR max request size exceeded' }])
    const fits = await post('/', ['set', `${p}big`, 'x'.repeat(1000 * 1000)])
    expect(fits.status).toBe(200)
  })

  it('sends an increasing upstash-sync-token', async () => {
    const a = Number((await post('/', ['ping'])).headers.get('upstash-sync-token'))
    const b = Number((await post('/', ['ping'])).headers.get('upstash-sync-token'))
    expect(b).toBeGreaterThan(a)
  })

  it('counts requests per path and commands by name', async () => {
    await post('/', ['ping'])
    await post('/pipeline', [['ping'], ['echo', 'x']])
    await post('/multi-exec', [['ping']])
    expect(fx!.server.stats.requests).toEqual({ '/': 1, '/pipeline': 1, '/multi-exec': 1 })
    expect(fx!.server.stats.total).toBe(3)
    expect(fx!.server.stats.commands).toEqual({ PING: 3, ECHO: 1 })
    fx!.server.stats.reset()
    expect(fx!.server.stats.total).toBe(0)
  })

  it('injects faults into the next N requests, then behaves again', async () => {
    fx!.server.faults.inject({ status: 500 }, 2)
    fx!.server.faults.inject({ body: '<html>garbage' })
    fx!.server.faults.inject({ delayMs: 200 })
    expect((await post('/', ['ping'])).status).toBe(500)
    expect((await post('/', ['ping'])).status).toBe(500)
    const garbage = await fetch(fx!.server.url, { method: 'POST', body: '["ping"]' })
    expect(await garbage.text()).toBe('<html>garbage')
    const started = Date.now()
    expect((await post('/', ['ping'])).json).toEqual({ result: 'PONG' })
    expect(Date.now() - started).toBeGreaterThanOrEqual(190)
    fx!.server.faults.inject({ drop: true })
    await expect(post('/', ['ping'])).rejects.toThrow()
    expect(fx!.server.faults.pending).toBe(0)
    expect((await post('/', ['ping'])).status).toBe(200)
  })

  it('answers 500 while Redis is unreachable, and recovers with the data intact', async () => {
    await post('/', ['set', `${p}kept`, 'yes'])
    fx!.proxy.cut()
    const down = await post('/', ['get', `${p}kept`])
    expect(down.status).toBe(500)
    expect((down.json as { error: string }).error).toMatch(/Redis/)
    expect((await post('/pipeline', [['ping']])).status).toBe(500)
    fx!.proxy.restore()
    let back = await post('/', ['get', `${p}kept`])
    for (let i = 0; i < 50 && back.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100))
      back = await post('/', ['get', `${p}kept`])
    }
    expect(back.json).toEqual({ result: 'yes' })
  })
})

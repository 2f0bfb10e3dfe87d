/**
 * The Upstash engine bundled for the edge and run in a bare EdgeVM (no Buffer, process or require)
 * against the local Upstash REST server: the VM's own fetch does the HTTP.
 */
import type { EdgeVM } from '@edge-runtime/vm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sha256Hex } from '../src/lib/crypto.js'
import { bareEdgeVM, bundleForEdge } from './support/edge-vm.js'
import { SECRET, uniquePrefix, upstashFixture } from './support/upstash.js'

const fx = await upstashFixture()
afterAll(() => fx?.close())

let code: string
let vm: EdgeVM

async function inVM<T>(fn: string, ...args: unknown[]): Promise<T> {
  const call = `Promise.resolve(UpstashEdge.${fn}(...${JSON.stringify(args)})).then((r) => JSON.stringify(r))`
  return JSON.parse(await (vm.evaluate(call) as Promise<string>)) as T
}

beforeAll(async () => {
  code = await bundleForEdge('test/fixtures/upstash-edge-app.ts', 'UpstashEdge')
  vm = bareEdgeVM(code)
})

describe.skipIf(!fx)('the Upstash engine in a bare EdgeVM', () => {
  it('the bundle has @upstash/redis in it and no Node globals to lean on', () => {
    expect(vm.evaluate('typeof process')).toBe('undefined')
    expect(vm.evaluate('typeof Buffer')).toBe('undefined')
    expect(vm.evaluate('typeof UpstashEdge.lifecycle')).toBe('function')
    expect(code).toContain('upstash-sync-token')
    expect(code).not.toMatch(/\brequire\s*\(/)
  })

  it('create, write, load, cycle, flush', async () => {
    const prefix = uniquePrefix('edge')
    fx!.server.stats.reset()
    type Result = {
      key: string
      newKey: string
      items: [string, unknown][]
      oldKeyLoads: boolean
      afterCycle: [string, unknown][]
      movedKey: string
      cycledKeyLoads: boolean
      afterMove: [string, unknown][]
      flushedCookie: { value: string; maxAge: number }
      afterFlush: string[]
      exists: boolean
    }
    const r = await inVM<Result>('lifecycle', fx!.server.url, fx!.server.token, SECRET, prefix)
    expect(r.key).toMatch(/^[a-z0-9]{32}$/)
    expect(r.items).toEqual([
      ['user', { id: 42, name: 'Zoë ☃' }],
      ['cart', [1, 2.5, null]],
    ])
    expect(r.newKey).not.toBe(r.key)
    expect(r.oldKeyLoads).toBe(false)
    expect(r.afterCycle).toEqual(expect.arrayContaining([['visits', 1], ['user', { id: 42, name: 'Zoë ☃' }]]))
    expect(r.movedKey).toMatch(/^[a-z0-9]{32}$/)
    expect(r.movedKey).not.toBe(r.newKey)
    expect(r.cycledKeyLoads).toBe(false)
    expect(r.afterMove).toEqual(r.afterCycle)
    expect(r.flushedCookie).toEqual({ value: '', maxAge: 0 })
    expect(r.afterFlush).toEqual([])
    expect(r.exists).toBe(false)
    // The requests really went through the server, and the data really was in Redis under a hashed key.
    // create 1, load+save 2, load+cycle 2 (the commit after a cycle has nothing left to write), 2 loads,
    // move 1 (its expiry restarted in the script: the commit writes nothing), 2 loads,
    // flush 1 (a script: it also reports the bound user, none here), load 1, exists 1 (a script: a cycled key's
    // marker is no session).
    expect(fx!.server.stats.total).toBe(13)
    expect(fx!.server.stats.commands).toEqual({ EVAL: 13 })
    // The two keys cycled away from hold only their marker; the flushed one holds nothing.
    for (const key of [r.key, r.newKey]) expect(await fx!.direct.get(prefix + (await sha256Hex(key)))).toBe('cycled')
    expect(await fx!.direct.exists(prefix + (await sha256Hex(r.movedKey)))).toBe(0)
  })

  it('a dead store is SessionStoreUnavailable inside the VM too', async () => {
    expect(await inVM('unreachable', SECRET)).toEqual({ code: 'ERR_SESSION_STORE_UNAVAILABLE', typed: true })
  })
})

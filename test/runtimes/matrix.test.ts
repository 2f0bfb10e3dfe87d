/**
 * The runtime matrix: one portable suite (test/runtimes/suite.ts), bundled per runtime with that runtime's export
 * conditions, run in Node, the bare EdgeVM, Bun, Deno (with no permissions), a Chromium page and workerd (a
 * compatibility date Cloudflare users still pin, without and with nodejs_compat, and the newest date). Cookies made in
 * each runtime are opened in every other; the Upstash engine runs in each against real Redis behind the local
 * Upstash-compatible REST server, and sessions written in one runtime are read and ended in the others.
 */
import { afterAll, describe, expect, it } from 'vitest'
import * as node from '../fixtures/edge-app.js'
import type { Loaded } from '../fixtures/edge-app.js'
import { lifecycle as upstashLifecycle } from '../fixtures/upstash-edge-app.js'
import { uniquePrefix, upstashFixture } from '../support/upstash.js'
import {
  OLD_COMPATIBILITY_DATE,
  scratch,
  startBun,
  startChromium,
  startDeno,
  startEdgeVM,
  startNode,
  startWorkerd,
  type Runtime,
} from './launch.js'
import { LARGE, SMALL, type Minted } from './suite.js'

const SECRET = 'runtime matrix secret, thirty-two bytes or more'
const OLD_SECRET = 'the secret before rotation, also 32+ bytes long'
const OLD_DEFAULT_ENTRY = `workerd ${OLD_COMPATIBILITY_DATE}, @upstash/redis default entry`

const fx = await upstashFixture()
const url = fx?.server.url
const { dir, remove } = await scratch()
const started = await Promise.all([
  startNode(dir, url),
  startEdgeVM(url),
  startBun(dir, url),
  startDeno(dir, url),
  startDeno(dir, url, true),
  startChromium(url),
  startWorkerd(
    dir,
    (newest) => [
      { name: `workerd ${OLD_COMPATIBILITY_DATE}`, compatibilityDate: OLD_COMPATIBILITY_DATE },
      { name: `workerd ${OLD_COMPATIBILITY_DATE} nodejs_compat`, compatibilityDate: OLD_COMPATIBILITY_DATE, compatibilityFlags: ['nodejs_compat'] },
      { name: `workerd ${newest}`, compatibilityDate: newest },
      // Bundled without the workerd conditions, as the engine was before it chose its @upstash/redis entry.
      { name: OLD_DEFAULT_ENTRY, compatibilityDate: OLD_COMPATIBILITY_DATE, conditions: ['browser', 'import', 'default'] },
    ],
    url,
  ),
])
const all = started.flat().filter((r): r is Runtime => r !== null)
const control = all.find((r) => r.name === OLD_DEFAULT_ENTRY)
/** The runtimes the suite runs in: all but the control, and Deno once (with no permission at all) for cookies. */
const runtimes = all.filter((r) => r !== control && !r.name.startsWith('deno --allow-net'))
/** For the Upstash engine: Deno with net access to the Upstash host only. */
const upstashRuntimes = all.filter((r) => r !== control && r.name !== 'deno, no permissions')
const denoWithoutNet = all.find((r) => r.name === 'deno, no permissions')

afterAll(async () => {
  await Promise.all(all.map((r) => r.close()))
  await remove()
  await fx?.close()
})

/** What each runtime must show about itself, so a host that quietly ran elsewhere fails. */
function identify(name: string, seen: Record<string, unknown>): void {
  const others = { deno: 'undefined', bun: 'undefined' }
  if (name === 'node') expect(seen).toMatchObject({ ...others, edgeRuntime: 'undefined', document: 'undefined', node: expect.stringMatching(/^\d+\./) })
  else if (name === 'edge-vm') expect(seen).toMatchObject({ ...others, edgeRuntime: 'string', node: null })
  else if (name === 'bun') expect(seen).toMatchObject({ deno: 'undefined', bun: 'object' })
  else if (name.startsWith('deno')) expect(seen).toMatchObject({ deno: 'object', bun: 'undefined' })
  else if (name === 'chromium') expect(seen).toMatchObject({ ...others, document: 'object', userAgent: expect.stringContaining('Chrome/') })
  else if (name.startsWith('workerd')) expect(seen).toMatchObject({ ...others, document: 'undefined', userAgent: 'Cloudflare-Workers' })
  else throw new Error(`no identity for ${name}`)
}

it('every runtime of the matrix started (a missing one is a skip here, an error under CI=true)', () => {
  const names = all.map((r) => r.name)
  for (const name of ['node', 'edge-vm']) expect(names).toContain(name)
  if (process.env.CI === 'true') expect(all).toHaveLength(10)
})

describe.each(runtimes.map((r) => [r.name, r] as const))('%s', (_, rt) => {
  it('is the runtime it claims to be', async () => {
    identify(rt.name, await rt.call('runtime'))
  })

  it.each(['signed', 'encrypted', 'memory'] as const)('a %s session lives the same life as in Node', async (kind) => {
    const inside = await rt.call('cookieLifecycle', kind, SECRET)
    expect(inside).toEqual(JSON.parse(JSON.stringify(await node.lifecycle(kind, SECRET))))
    // And that life is the right one (equal runtimes could be equally wrong).
    const empty = { sessionKeyIsNull: true, items: [] }
    expect(inside.loaded).toEqual({ sessionKeyIsNull: false, items: [['user', { id: 42, name: 'Zoë ☃', roles: ['admin'] }], ['cart', [1, 2.5, -3, null, true, 'x']]] })
    expect(inside.tampered).toEqual(empty)
    expect(inside.expired).toEqual(empty)
    expect(inside.expiredByDate).toEqual(empty)
    expect(inside.shortLivedAge).toBe(60)
    expect(inside.cycledKeyChanged).toBe(true)
  })

  it('reading the environment never throws: a missing secret is the usual config error, cookieSecure its default', async () => {
    expect(await rt.call('environment', SECRET)).toEqual({
      withoutSecret: { code: 'ERR_SESSION_CONFIG', option: 'secret' },
      cookieSecure: false,
      secretFallbacks: [],
    })
  })
})

describe('cookies cross every runtime', () => {
  it('each runtime opens what every runtime made: compressed, with a fallback secret; tampered and expired refused', async () => {
    // Both code paths take part: Node's crypto and zlib where the runtime offers them, Web Crypto and src/lib/deflate.ts elsewhere.
    const paths = new Set(await Promise.all(runtimes.map(async (r) => (await r.call('runtime')).nodeBuiltins)))
    expect([...paths].sort()).toEqual([false, true])
    const made = await Promise.all(runtimes.map(async (r) => ({ maker: r.name, tokens: await r.call('mint', SECRET, OLD_SECRET) })))
    const tokens: (Minted & { maker: string })[] = made.flatMap(({ maker, tokens }) => tokens.map((t) => ({ ...t, maker })))
    expect(tokens).toHaveLength(runtimes.length * 10)
    for (const t of tokens.filter((t) => t.what === 'large')) {
      // Only compression gets this data under the cookie limit.
      expect(JSON.stringify(LARGE).length).toBeGreaterThan(8000)
      expect(t.token.length).toBeLessThan(4096)
    }
    const opened = await Promise.all(runtimes.map(async (r) => ({ opener: r.name, loaded: await r.call('open', SECRET, OLD_SECRET, tokens) })))
    const empty = { sessionKey: null, items: [] }
    for (const { opener, loaded } of opened) {
      loaded.forEach((got: Loaded, i) => {
        const t = tokens[i]!
        const context = `${t.kind} ${t.what} token from ${t.maker}, opened in ${opener}`
        if (t.what === 'tampered' || t.what === 'expired') expect(got, context).toEqual(empty)
        else expect(got, context).toEqual({ sessionKey: t.token, items: Object.entries(t.what === 'large' ? LARGE : SMALL) })
      })
    }
  })
})

describe.skipIf(!fx)('the Upstash engine in every runtime (real Redis behind the local Upstash REST server)', () => {
  /** A lifecycle's result with its random keys replaced by facts about them, and the Redis hash's order dropped. */
  function facts(r: Awaited<ReturnType<typeof upstashLifecycle>>) {
    const key = /^[a-z0-9]{32}$/
    return {
      ...r,
      key: key.test(r.key),
      newKey: key.test(r.newKey) && r.newKey !== r.key,
      movedKey: key.test(r.movedKey) && r.movedKey !== r.newKey && r.movedKey !== r.key,
      afterCycle: Object.fromEntries(r.afterCycle),
      afterMove: Object.fromEntries(r.afterMove),
    }
  }
  let inNode: ReturnType<typeof facts> | undefined

  it.each(upstashRuntimes.map((r) => [r.name, r] as const))('%s: create, write, load, cycle, flush, as in Node', async (_, rt) => {
    inNode ??= facts(await upstashLifecycle(url!, fx!.server.token, SECRET, uniquePrefix('matrix-node')))
    // And Node's is the right life: a new key at login, the old one and the flushed one gone.
    expect(inNode).toMatchObject({ key: true, newKey: true, movedKey: true, oldKeyLoads: false, cycledKeyLoads: false, afterFlush: [], exists: false, afterCycle: { visits: 1 }, afterMove: { visits: 1 } })
    const prefix = uniquePrefix('matrix')
    expect(facts(await rt.call('upstashLifecycle', rt.upstashUrl!, fx!.server.token, SECRET, prefix))).toEqual(inNode)
    // It really went through Redis: after the flush, only the markers of the two keys cycled away from are left.
    const left = await fx!.direct.keys(`${prefix}*`)
    expect(left).toHaveLength(2)
    for (const key of left) expect(await fx!.direct.get(key)).toBe('cycled')
  })

  it('a session written in each runtime is read in every other, and a logout in one ends it everywhere', async () => {
    const prefix = uniquePrefix('matrix-cross')
    const data = { ...SMALL, note: 'x'.repeat(200) }
    const keys = await Promise.all(upstashRuntimes.map((r) => r.call('upstashCreate', r.upstashUrl!, fx!.server.token, SECRET, prefix, { ...data, by: r.name })))
    expect(new Set(keys).size).toBe(upstashRuntimes.length)
    expect(await fx!.direct.keys(`${prefix}*`)).toHaveLength(upstashRuntimes.length)
    for (const r of upstashRuntimes) {
      const read = await r.call('upstashRead', r.upstashUrl!, fx!.server.token, SECRET, prefix, keys)
      // A Redis hash keeps no order: compare as objects.
      read.forEach(({ items }, i) => expect(Object.fromEntries(items), `${upstashRuntimes[i]!.name}'s session read in ${r.name}`).toEqual({ ...data, by: upstashRuntimes[i]!.name }))
    }
    // Each runtime logs out the session the next one created.
    await Promise.all(upstashRuntimes.map((r, i) => r.call('upstashFlush', r.upstashUrl!, fx!.server.token, SECRET, prefix, keys[(i + 1) % keys.length]!)))
    for (const r of upstashRuntimes) {
      const read = await r.call('upstashRead', r.upstashUrl!, fx!.server.token, SECRET, prefix, keys)
      expect(read.map(({ items }) => items)).toEqual(keys.map(() => []))
    }
    expect(await fx!.direct.keys(`${prefix}*`)).toEqual([])
  })

  it('each bundle carries the @upstash/redis entry its runtime needs: the fetch-only one on workerd and Deno', () => {
    for (const r of all.filter((r) => r !== control)) {
      const fetchOnly = r.name.startsWith('workerd') || r.name.startsWith('deno')
      // The Cloudflare entry's telemetry says so; the default entry asks every fetch for cache: "no-store".
      expect(r.code.includes('platform: "cloudflare"'), r.name).toBe(fetchOnly)
      expect(r.code.includes('"no-store"'), r.name).toBe(!fetchOnly)
    }
  })

  it.skipIf(!control)(`workerd before 2024-11-11 fails every call on the default entry (why the workerd condition matters)`, async () => {
    await expect(control!.call('upstashLifecycle', url!, fx!.server.token, SECRET, uniquePrefix('matrix-old'))).rejects.toMatchObject({
      code: 'ERR_SESSION_STORE_UNAVAILABLE',
      message: expect.stringMatching(/'cache' field/),
    })
  })

  it.skipIf(!denoWithoutNet)('Deno without --allow-net: the engine fails closed (SessionStoreUnavailable), never an empty session', async () => {
    await expect(denoWithoutNet!.call('upstashLifecycle', url!, fx!.server.token, SECRET, uniquePrefix('matrix-deno'))).rejects.toMatchObject({
      code: 'ERR_SESSION_STORE_UNAVAILABLE',
      message: expect.stringMatching(/net access/i),
    })
  })
})

import type { EdgeVM } from '@edge-runtime/vm'
import { builtinModules } from 'node:module'
import { beforeAll, describe, expect, it } from 'vitest'
import * as interop from './fixtures/interop-edge-app.js'
import * as node from './fixtures/edge-app.js'
import type { EngineKind, Loaded } from './fixtures/edge-app.js'
import { bareEdgeVM, bundleForEdge } from './support/edge-vm.js'

const SECRET = 'edge-vm test secret, 32 bytes or more'
const OTHER_SECRET = 'another secret entirely, also 32+ bytes'

let code: string
let vm: EdgeVM

/** Calls the bundled fixture inside the VM; arguments and result cross the realm boundary as JSON. */
async function inVM<T>(fn: keyof typeof node, ...args: unknown[]): Promise<T> {
  const call = `Promise.resolve(EdgeApp.${fn}(...${JSON.stringify(args)})).then((r) => JSON.stringify(r))`
  return JSON.parse(await (vm.evaluate(call) as Promise<string>)) as T
}

beforeAll(async () => {
  code = await bundleForEdge('test/fixtures/edge-app.ts', 'EdgeApp')
  vm = bareEdgeVM(code)
})

describe('the bundle', () => {
  it('runs in a runtime without Node globals', () => {
    expect(vm.evaluate('typeof Buffer')).toBe('undefined')
    expect(vm.evaluate('typeof process')).toBe('undefined')
    expect(vm.evaluate('typeof require')).toBe('undefined')
    expect(vm.evaluate('typeof EdgeRuntime')).toBe('string')
    expect(vm.evaluate('typeof crypto.subtle.sign')).toBe('function')
    // The fixture really is inside: a missing global would make the calls below fail, not pass.
    expect(vm.evaluate('typeof EdgeApp.lifecycle')).toBe('function')
  })

  it('requires nothing, Node built-ins least of all', () => {
    expect(code).not.toMatch(/\brequire\s*\(/)
    const names = builtinModules.flatMap((m) => [m, `node:${m}`]).map((m) => m.replace(/[/]/g, '\\/'))
    // The one allowed mention: src/lib/node-builtin.ts asks the runtime for zlib, crypto and buffer at call time
    // (process.getBuiltinModule, absent here, so src/lib/deflate.ts, Web Crypto and btoa run); nothing is imported or required.
    const probes = /nodeBuiltin\(\s*["'](zlib|crypto|buffer)["']\s*\)/g
    expect(code).toMatch(probes)
    expect(code.replace(probes, '')).not.toMatch(new RegExp(`["'](${names.join('|')})["']`))
  })
})

const user = { id: 42, name: 'Zoë ☃', roles: ['admin'] }
const cart = [1, 2.5, -3, null, true, 'x']

describe.each(['signed', 'encrypted', 'memory'] as const)('the %s engine', (kind) => {
  it('lives the same life inside the VM as in Node', async () => {
    const inside = await inVM<Record<string, unknown>>('lifecycle', kind, SECRET)
    expect(inside).toEqual(JSON.parse(JSON.stringify(await node.lifecycle(kind, SECRET))))

    // And that life is the right one (equal realms could be equally wrong).
    expect(inside.freshIsEmpty).toBe(true)
    expect(inside.afterWrite).toEqual({ modified: true, accessed: true })
    expect(inside.created).toEqual({
      cookie: { name: 'sessionid', path: '/', secure: false, httpOnly: true, sameSite: 'lax', maxAge: 1209600, hasValue: true, expiresMatchesMaxAge: true },
      vary: true,
    })
    expect(inside.headerRoundTrip).toBe(true)
    expect(inside.loadedAccessedBeforeTouch).toBe(false)
    expect(inside.loaded).toEqual({ sessionKeyIsNull: false, items: [['user', user], ['cart', cart]] })
    expect(inside.loadedKeyKept).toBe(true)
    expect(inside.loadedExpiryAge).toBe(1209600)
    expect(inside.loadedUnmodifiedCommit).toEqual({ cookie: null, vary: true })

    const empty = { sessionKeyIsNull: true, items: [] }
    const deletion = {
      cookie: { name: 'sessionid', path: '/', secure: false, httpOnly: false, sameSite: 'lax', maxAge: 0, hasValue: false, expiresMatchesMaxAge: true },
      vary: true,
    }
    expect(inside.tampered).toEqual(empty)
    expect(inside.tamperedCommit).toEqual(deletion)
    expect(inside.expired).toEqual(empty)
    expect(inside.expiredByDate).toEqual(empty)

    expect(inside.shortLived).toEqual({ sessionKeyIsNull: false, items: [['a', 1], ['_session_expiry', 60]] })
    expect(inside.shortLivedAge).toBe(60)
    expect((inside.shortLivedCommit as { cookie: { maxAge: number } }).cookie.maxAge).toBe(60)
    expect(inside.browserClose).toEqual({ sessionKeyIsNull: false, items: [['a', 1], ['_session_expiry', 0]] })
    expect(inside.browserCloseAtClose).toBe(true)
    expect((inside.browserCloseCommit as { cookie: object }).cookie).not.toHaveProperty('maxAge')

    expect(inside.cycledKeyChanged).toBe(true)
    expect(inside.cycled).toEqual({ sessionKeyIsNull: false, items: [['user', user], ['cart', cart], ['login', true]] })
    expect(inside.flushed).toEqual({ sessionKeyIsNull: true, isEmpty: true, modified: true })
    expect(inside.flushedCommit).toEqual(deletion)
    expect(inside.serverErrorCommit).toEqual({ cookie: null, vary: true })

    if (kind === 'memory') {
      // A server-side store forgets the old key at once.
      expect(inside.oldKeyAfterCycle).toEqual(empty)
      expect(inside.keyAfterFlush).toEqual(empty)
    } else {
      // Django's cookie engine cannot revoke: a copied old cookie loads until it expires (documented).
      expect(inside.oldKeyAfterCycle).toEqual(inside.loaded)
      expect((inside.keyAfterFlush as Loaded).items).toEqual([['user', user], ['cart', cart], ['login', true]])
    }
  })
})

/** JSON far over the 4096-byte cookie limit that deflates well under it: it only fits compressed. */
const large = {
  history: Array.from({ length: 120 }, (_, i) => ({ path: `/products/category-${i % 7}/item`, visitedAt: 1_700_000_000 + i, ok: i % 3 !== 0 })),
  note: 'ünïcödé ✓ '.repeat(40),
}

function base64urlDecode(part: string): Uint8Array {
  return Uint8Array.from(atob(part.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))
}

describe.each(['signed', 'encrypted'] as const)('a %s cookie crosses runtimes', (kind: EngineKind) => {
  it('written by a Node route handler, read by edge middleware, and back, compressed', async () => {
    expect(JSON.stringify(large).length).toBeGreaterThan(8000)
    const fromNode = await node.save(kind, SECRET, large)
    const fromEdge = await inVM<string>('save', kind, SECRET, large)
    for (const token of [fromNode, fromEdge]) {
      expect(token.length).toBeLessThan(4096)
      if (kind === 'signed') {
        // `<issued>-<expires>.<deflated>`: the flag byte after the times says "compressed".
        const payload = base64urlDecode(token.split('.')[1]!)
        const flag = payload.findIndex((b, i) => (b < 0x30 || b > 0x39) && i > payload.indexOf(0x2d))
        expect(String.fromCharCode(payload[flag]!)).toBe('.')
      } else {
        expect(token.split('.')).toHaveLength(5)
      }
    }
    const expected = { sessionKey: fromNode, items: Object.entries(large) }
    expect(await inVM<Loaded>('load', kind, SECRET, fromNode)).toEqual(expected)
    expect(await node.load(kind, SECRET, fromEdge)).toEqual({ sessionKey: fromEdge, items: Object.entries(large) })
  })

  it('refuses a tampered or foreign cookie in either runtime, and honours a fallback secret', async () => {
    const fromNode = await node.save(kind, SECRET, { a: 1 })
    const fromEdge = await inVM<string>('save', kind, SECRET, { a: 1 })
    const empty = { sessionKey: null, items: [] }
    expect(await inVM<Loaded>('load', kind, SECRET, node.tamper(fromNode))).toEqual(empty)
    expect(await node.load(kind, SECRET, node.tamper(fromEdge))).toEqual(empty)
    expect(await inVM<Loaded>('load', kind, OTHER_SECRET, fromNode)).toEqual(empty)
    expect(await node.load(kind, OTHER_SECRET, fromEdge)).toEqual(empty)
    expect(await inVM<Loaded>('load', kind, OTHER_SECRET, fromNode, [SECRET])).toEqual({ sessionKey: fromNode, items: [['a', 1]] })
    expect(await node.load(kind, OTHER_SECRET, fromEdge, [SECRET])).toEqual({ sessionKey: fromEdge, items: [['a', 1]] })
    // An expired cookie made in one runtime is expired in the other.
    const expired = await node.save(kind, SECRET, { a: 1 }, -1)
    expect(await inVM<Loaded>('load', kind, SECRET, expired)).toEqual(empty)
  })

  it('is not readable by the other cookie engine', async () => {
    const other: EngineKind = kind === 'signed' ? 'encrypted' : 'signed'
    const token = await node.save(kind, SECRET, { a: 1 })
    expect(await inVM<Loaded>('load', other, SECRET, token)).toEqual({ sessionKey: null, items: [] })
  })
})

describe("Django's signed cookie (djangoCookieEngine) and the lossless serializer in a bare EdgeVM", () => {
  let djangoVM: EdgeVM
  const inDjangoVM = async <T>(fn: keyof typeof interop, ...args: unknown[]): Promise<T> =>
    JSON.parse(await (djangoVM.evaluate(`Promise.resolve(InteropApp.${fn}(...${JSON.stringify(args)})).then((r) => JSON.stringify(r))`) as Promise<string>)) as T

  beforeAll(async () => {
    const bundle = await bundleForEdge('test/fixtures/interop-edge-app.ts', 'InteropApp')
    expect(bundle).not.toMatch(/\brequire\s*\(/)
    djangoVM = bareEdgeVM(bundle)
  })

  it('writes what Node writes and reads what Node wrote, plain and zlib-compressed, with a fallback secret', async () => {
    for (const data of [{ user: 'Zoë ☃' }, large]) {
      const fromEdge = await inDjangoVM<string>('save', SECRET, data)
      const fromNode = await interop.save(SECRET, data)
      // test/django-cookie.test.ts proves Node's cookies against real Django. The plain payload is the same text
      // here; a compressed one may differ (Node's zlib there, src/lib/deflate.ts here), so it is checked by reading.
      if (!fromNode.startsWith('.')) expect(fromEdge.split(':')[0]).toBe(fromNode.split(':')[0])
      expect(await interop.load(SECRET, fromEdge)).toEqual(data)
      expect(await inDjangoVM('load', SECRET, fromNode)).toEqual(data)
      expect(await inDjangoVM('load', OTHER_SECRET, fromNode, [SECRET])).toEqual(data)
      expect(await inDjangoVM('load', OTHER_SECRET, fromNode)).toEqual({})
    }
    expect((await inDjangoVM<string>('save', SECRET, large)).startsWith('.')).toBe(true)
  })

  it('the lossless serializer keeps Date, BigInt, Map, Set, Uint8Array and undefined inside the VM', async () => {
    const expected = { when: 1_700_000_000_123, big: (2n ** 70n).toString(), cart: [1, 2], bytes: [1, 255], undefinedKept: true }
    expect(await inDjangoVM('losslessRoundTrip', SECRET)).toEqual(expected)
    expect(await interop.losslessRoundTrip(SECRET)).toEqual(expected)
  })
})

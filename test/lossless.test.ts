/**
 * losslessSerializer: tagged JSON that keeps Date, BigInt, Map, Set, Uint8Array and undefined exactly,
 * on every engine (signed and encrypted cookies, memory, Upstash on real Redis, Django's cookie format).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { jsonSerializer } from '../src/core/serializer.js'
import { cookieEngine } from '../src/engines/cookie.js'
import { djangoCookieEngine } from '../src/engines/django-cookie.js'
import { memoryEngine } from '../src/engines/memory.js'
import { upstashEngine } from '../src/engines/upstash.js'
import { SessionSerializationError } from '../src/errors.js'
import { losslessSerializer } from '../src/serializers/lossless.js'
import { createSessionStore, type SessionStoreOptions } from '../src/store.js'
import { uniquePrefix, upstashFixture } from './support/upstash.js'

const SECRET = 'lossless test secret, at least 32 bytes'

/** Every type the serializer promises, nested in each other, at a size users hit (well over 64 bytes). */
function rich() {
  return {
    when: new Date('2026-11-29T18:30:00.123Z'),
    invalidDate: new Date(NaN),
    big: 12345678901234567890123456789n,
    negativeBig: -42n,
    cart: new Map<unknown, unknown>([
      ['sku-1', { qty: 2, added: new Date(0) }],
      [7, new Set(['a', 'b'])],
      [new Date(1000), 'date key'],
    ]),
    tags: new Set([1, 'x', null, undefined]),
    bytes: new Uint8Array([0, 1, 2, 250, 255]),
    maybe: undefined,
    nested: { gone: undefined, list: [undefined, 1, NaN, Infinity, -Infinity, -0] },
    dollar: { $t: 'Date', v: 'not a tag' },
    proto: JSON.parse('{"__proto__": {"polluted": true}}') as object,
    text: 'Zoë ☃ '.repeat(20),
  }
}

function expectSame(actual: unknown, expected: unknown): void {
  expect(actual).toStrictEqual(expected)
}

describe('losslessSerializer on its own', () => {
  it('round-trips every promised type exactly, nested', () => {
    const value = rich()
    const back = losslessSerializer.loads(losslessSerializer.dumps(value)) as ReturnType<typeof rich>
    expectSame(back, value)
    expect(Object.is(back.nested.list[5], -0)).toBe(true)
    expect(back.cart.get(7)).toBeInstanceOf(Set)
    expect(back.bytes).toBeInstanceOf(Uint8Array)
    expect('maybe' in back).toBe(true)
    // A stored "__proto__" is a plain key, never the prototype.
    expect(Object.getPrototypeOf(back.proto)).toBe(Object.prototype)
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined()
  })

  it('writes plain JSON values exactly as jsonSerializer does, so existing sessions still load', () => {
    const plain = { a: [1, 'two', null, true, { b: 2.5 }], c: 'Zoë' }
    expect(losslessSerializer.dumps(plain)).toBe(jsonSerializer.dumps(plain))
    expect(losslessSerializer.loads(jsonSerializer.dumps(plain))).toStrictEqual(plain)
  })

  it('still refuses what it cannot keep, naming the key', () => {
    class Cart {
      items = []
    }
    const circular: Record<string, unknown> = {}
    circular.self = circular
    const sparse = [1, , 3] // eslint-disable-line no-sparse-arrays
    for (const [value, type] of [
      [new Cart(), 'Cart'],
      [() => 1, 'function'],
      [Symbol('s'), 'Symbol'],
      [circular, 'circular reference'],
      [sparse, 'sparse array'],
      [Object.assign([1], { extra: 1 }), 'array with named properties'],
      [{ [Symbol('k')]: 1 }, 'property keyed by a Symbol'],
      [new (class Stamp extends Date {})(), 'Stamp'],
    ] as const) {
      const error = (() => {
        try {
          losslessSerializer.validate!(value, 'cart')
        } catch (err) {
          return err
        }
      })()
      expect(error).toBeInstanceOf(SessionSerializationError)
      expect(error).toMatchObject({ key: 'cart', type })
      expect(() => losslessSerializer.dumps(value, 'cart')).toThrow(SessionSerializationError)
    }
  })

  it('refuses text it did not write: unknown or malformed tags', () => {
    for (const text of ['{"$t":"Nope"}', '{"$t":"BigInt","v":"1.5"}', '{"$t":"Map","v":[[1]]}', '{"$t":"Number","v":"7"}', '{"$t":"Object","v":[1]}']) {
      expect(() => losslessSerializer.loads(text)).toThrow(TypeError)
    }
  })
})

const fx = await upstashFixture()
afterAll(() => fx?.close())

const engines: [string, () => SessionStoreOptions['engine']][] = [
  ['signed cookie', () => cookieEngine()],
  ['encrypted cookie', () => cookieEngine({ encrypt: true })],
  ["Django's signed cookie", () => djangoCookieEngine()],
  ['memory', () => memoryEngine()],
]

describe.each(engines)('on the %s engine', (_name, engine) => {
  it('aset keeps the values exactly across a save and a load', async () => {
    const store = createSessionStore<ReturnType<typeof rich>>({ secret: SECRET, serializer: losslessSerializer, engine: engine() })
    const session = store.open()
    await session.aupdate(rich())
    await session.asave()
    expectSame(Object.fromEntries(await store.open(session.sessionKey).aitems()), rich())
  })

  it('the default serializer still refuses the same values at aset (plain JSON stays the default)', async () => {
    const store = createSessionStore<{ when: Date }>({ secret: SECRET, engine: engine() })
    await expect(store.open().aset('when', new Date())).rejects.toBeInstanceOf(SessionSerializationError)
  })
})

describe.skipIf(!fx)('on the Upstash engine (real Redis)', () => {
  it('keeps the values exactly, each key in its own field', async () => {
    const store = createSessionStore<ReturnType<typeof rich>>({
      secret: SECRET,
      serializer: losslessSerializer,
      engine: upstashEngine({ redis: { url: fx!.server.url, token: fx!.server.token }, prefix: uniquePrefix('lossless') }),
    })
    const session = store.open()
    await session.aupdate(rich())
    await session.asave()
    const again = store.open(session.sessionKey)
    expectSame(Object.fromEntries(await again.aitems()), rich())
    // A second request changes one Map in place and saves: only that field is rewritten, and it comes back.
    const cart = (await again.aget('cart'))!
    cart.set('sku-2', 3n)
    await again.aset('cart', cart)
    await again.asave()
    expect((await store.open(session.sessionKey).aget('cart'))?.get('sku-2')).toBe(3n)
  })
})

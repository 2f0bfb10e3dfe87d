/**
 * What jsonSerializer's refusal tells the user: the session key, where in the value (a path such as `.cart[1].when`)
 * and what it found there (`a Date`, `a NaN`, `a sparse array`...), for each kind of value JSON would not give back.
 * Also the limits: 512 levels of nesting, objects without a prototype, and a value seen twice that is not a cycle.
 */
import { describe, expect, it } from 'vitest'
import { jsonSerializer } from '../src/index.js'
import { SessionSerializationError } from '../src/errors.js'

function refusal(value: unknown, key = 'k'): SessionSerializationError {
  try {
    jsonSerializer.validate!(value, key)
  } catch (err) {
    expect(err).toBeInstanceOf(SessionSerializationError)
    expect(err).toMatchObject({ code: 'ERR_SESSION_NOT_SERIALIZABLE', key })
    // dumps refuses exactly what validate refuses, with the same words.
    expect(() => jsonSerializer.dumps(value, key)).toThrow((err as Error).message)
    return err as SessionSerializationError
  }
  throw new Error('accepted')
}

/** A chain of `depth` nested arrays around `inner`. */
function nested(depth: number, inner: unknown = 1): unknown {
  let value = inner
  for (let i = 0; i < depth; i++) value = [value]
  return value
}

describe('jsonSerializer refusals', () => {
  class Point {
    x = 1
  }
  const Anonymous = (() => class {})()
  const kinds: [name: string, value: unknown, type: string][] = [
    ['undefined', undefined, 'undefined'],
    ['NaN', Number.NaN, 'NaN'],
    ['Infinity', Number.POSITIVE_INFINITY, 'Infinity'],
    ['-Infinity', Number.NEGATIVE_INFINITY, '-Infinity'],
    ['-0', -0, 'negative zero (-0)'],
    ['a BigInt', 1n, 'BigInt'],
    ['a function', () => 1, 'function'],
    ['a Symbol', Symbol('s'), 'Symbol'],
    ['a Date', new Date(0), 'Date'],
    ['a Map', new Map(), 'Map'],
    ['a class instance', new Point(), 'Point'],
    ['an instance of an anonymous class', new Anonymous(), 'object'],
  ]
  for (const [name, value, type] of kinds) {
    it(`${name} is named "${type}", with the key and the path to it`, () => {
      const error = refusal({ cart: [0, { when: value }] }, 'order')
      expect(error.type).toBe(type)
      expect(error.message).toContain(`Session key "order" at .cart[1].when holds a ${type}, which JSON would not return unchanged`)
    })
  }

  it('a value refused at the top level names the key alone; without a key, "A session value"', () => {
    expect(refusal(Number.NaN, 'score').message).toMatch(/^Session key "score" holds a NaN/)
    expect(() => jsonSerializer.dumps({ a: [Number.NaN] })).toThrow(/^A session value holds a NaN, which JSON/)
  })

  it('the structures JSON would silently change are named, with where they are', () => {
    const symbolKeyed = { [Symbol('s')]: 1 }
    const named = Object.assign([1, 2], { extra: true })
    const sparse = [1, , 3] // eslint-disable-line no-sparse-arrays
    const circular: Record<string, unknown> = {}
    circular.self = { back: circular }
    expect(refusal({ a: symbolKeyed }).message).toContain('at .a holds a property keyed by a Symbol')
    expect(refusal({ a: named }).message).toContain('at .a holds a array with named properties')
    expect(refusal({ a: sparse }).message).toContain('at .a[1] holds a sparse array')
    expect(refusal({ a: circular }).message).toContain('at .a.self.back holds a circular reference')
    expect(refusal({ list: [[1], [2, [3, new Set()]]] }).message).toContain('at .list[1][1][1] holds a Set')
  })

  it('nesting: 512 levels are kept, 513 are refused', () => {
    expect(() => jsonSerializer.validate!(nested(512), 'k')).not.toThrow()
    expect(jsonSerializer.loads(jsonSerializer.dumps(nested(512), 'k'))).toEqual(nested(512))
    expect(refusal(nested(513)).message).toContain('structure nested deeper than 512 levels')
    let deepObject: unknown = 1
    for (let i = 0; i < 513; i++) deepObject = { d: deepObject }
    expect(refusal(deepObject).message).toContain('nested deeper than 512 levels')
  })

  it('accepts what JSON returns as it was: null-prototype objects, a value shared by two branches, every finite number', () => {
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 })
    const shared = { n: 1 }
    const value = { bare, left: shared, right: [shared, shared], numbers: [0, 1.5, -2, Number.MAX_VALUE, Number.MIN_VALUE], flags: [true, false, null, ''] }
    expect(() => jsonSerializer.validate!(value, 'k')).not.toThrow()
    expect(jsonSerializer.loads(jsonSerializer.dumps(value, 'k'))).toEqual(JSON.parse(JSON.stringify(value)))
  })
})

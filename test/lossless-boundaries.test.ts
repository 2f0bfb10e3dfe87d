/**
 * losslessSerializer at its edges (issue 15): the nesting limit to the level, where in a value a refusal points,
 * objects that share a value without a cycle, null-prototype objects, and every malformed tag refused by name.
 * test/lossless.test.ts is the round trip of every type on every engine.
 */
import { describe, expect, it } from 'vitest'
import { SessionSerializationError } from '../src/errors.js'
import { losslessSerializer } from '../src/serializers/lossless.js'

function refusal(value: unknown, key = 'k'): SessionSerializationError {
  try {
    losslessSerializer.validate!(value, key)
  } catch (err) {
    expect(err).toBeInstanceOf(SessionSerializationError)
    return err as SessionSerializationError
  }
  throw new Error('accepted')
}

/** `depth` objects, each inside the one before. */
function nested(depth: number): Record<string, unknown> {
  const root: Record<string, unknown> = {}
  let node = root
  for (let i = 1; i < depth; i++) node = (node.n = {}) as Record<string, unknown>
  return root
}

describe('losslessSerializer refuses', () => {
  it('a structure nested deeper than 512 objects, and keeps one exactly 512 deep', () => {
    const deepest = nested(512)
    expect(losslessSerializer.loads(losslessSerializer.dumps(deepest))).toStrictEqual(deepest)
    expect(refusal(nested(513)).type).toBe('structure nested deeper than 512 levels')
  })

  it('names the path to the refused value inside the key: arrays, properties, Map keys and values, Set members', () => {
    const fn = () => 1
    expect(refusal({ a: [1, fn] }).message).toContain('Session key "k" at .a[1] ')
    expect(refusal({ a: { b: fn } }).message).toContain('at .a.b ')
    expect(refusal(new Map<unknown, unknown>([[1, 2], [fn, 3]])).message).toContain('at <key 1> ')
    expect(refusal(new Map([['x', fn]])).message).toContain('at <value 0> ')
    expect(refusal(new Set([1, 2, fn])).message).toContain('at <2> ')
    expect(refusal([0, , 2]).message).toContain('at [1] ') // eslint-disable-line no-sparse-arrays
    // dumps() points the same way as validate().
    expect(() => losslessSerializer.dumps({ a: [1, fn] }, 'k')).toThrow('Session key "k" at .a[1] ')
  })

  it('an object of a class without a usable name as "object"', () => {
    expect(refusal(new (class {})()).type).toBe('object')
    expect(refusal(Object.create(Object.create(null) as object) as object).type).toBe('object')
  })
})

describe('losslessSerializer keeps', () => {
  it('a value referenced twice without a cycle (only ancestors count as circular)', () => {
    const shared = { id: 1 }
    const value = { a: shared, b: [shared, shared], c: new Map([[shared, shared]]) }
    expect(losslessSerializer.loads(losslessSerializer.dumps(value))).toStrictEqual({
      a: { id: 1 },
      b: [{ id: 1 }, { id: 1 }],
      c: new Map([[{ id: 1 }, { id: 1 }]]),
    })
  })

  it('an object without a prototype, read back as a plain object', () => {
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 })
    expect(losslessSerializer.loads(losslessSerializer.dumps({ bare }))).toStrictEqual({ bare: { a: 1 } })
  })
})

describe('losslessSerializer.loads refuses a tag it did not write, naming the tag', () => {
  it.each([
    ['{"$t":"Date","v":5}', 'Date'],
    ['{"$t":"Map","v":5}', 'Map'],
    ['{"$t":"Map","v":[[1,2,3]]}', 'Map entry'],
    ['{"$t":"Map","v":[5]}', 'Map entry'],
    ['{"$t":"Set","v":5}', 'Set'],
    ['{"$t":"Uint8Array","v":5}', 'Uint8Array'],
    ['{"$t":"Object","v":null}', 'Object'],
    ['{"$t":"Object","v":"text"}', 'Object'],
    ['{"$t":"Object","v":[1]}', 'Object'],
    ['{"$t":"BigInt","v":5}', 'BigInt'],
    ['{"$t":"BigInt","v":"x1"}', 'BigInt'],
    ['{"$t":"BigInt","v":"1x"}', 'BigInt'],
    ['{"$t":"BigInt","v":"--1"}', 'BigInt'],
    ['{"$t":"Number","v":"7"}', 'Number'],
    ['{"$t":"Nope"}', 'unknown tag "Nope"'],
  ])('%s', (text, detail) => {
    expect(() => losslessSerializer.loads(text)).toThrow(TypeError)
    expect(() => losslessSerializer.loads(text)).toThrow(`(${detail})`)
  })

  it('reads the tags it wrote, each number name and both BigInt signs', () => {
    expect(losslessSerializer.loads('[{"$t":"Number","v":"NaN"},{"$t":"Number","v":"Infinity"},{"$t":"Number","v":"-Infinity"},{"$t":"Number","v":"-0"}]')).toStrictEqual([
      NaN,
      Infinity,
      -Infinity,
      -0,
    ])
    expect(losslessSerializer.loads('[{"$t":"BigInt","v":"-12"},{"$t":"BigInt","v":"34"}]')).toStrictEqual([-12n, 34n])
    expect(losslessSerializer.loads('{"$t":"Date","v":null}')).toStrictEqual(new Date(NaN))
    expect(losslessSerializer.loads('{"$t":"undefined"}')).toBeUndefined()
  })
})

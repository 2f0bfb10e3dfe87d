import { SessionSerializationError } from '../errors.js'

/**
 * Turns one session value into text and back. `dumps` must throw (preferably a
 * `SessionSerializationError`) for a value it cannot return unchanged: a silent
 * change is a silent loss.
 */
export interface Serializer {
  dumps(value: unknown, key?: string): string
  loads(text: string): unknown
  /**
   * Optional: throws where `dumps` would, without encoding. The core checks each value as it is set;
   * without `validate` it calls `dumps` and discards the text.
   */
  validate?(value: unknown, key?: string): void
}

/** JSON's value space: what `jsonSerializer` round-trips exactly. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

const MAX_DEPTH = 512

function typeName(value: unknown): string {
  if (value === undefined) return 'undefined'
  if (typeof value === 'number') return String(value) // NaN, Infinity, -Infinity
  if (typeof value === 'bigint') return 'BigInt'
  if (typeof value === 'function') return 'function'
  if (typeof value === 'symbol') return 'Symbol'
  const ctor = (value as object).constructor
  return typeof ctor === 'function' && ctor.name ? ctor.name : 'object'
}

/** Where a refused value sits below the session key, `.cart[1].when`: built only for the error message. */
function pathOf(segments: readonly (string | number)[]): string {
  return segments.map((s) => (typeof s === 'number' ? `[${s}]` : `.${s}`)).join('')
}

/**
 * Throws where JSON.stringify would drop, coerce or choke instead of keeping the value. Runs on every value set and
 * at every save, so the walk builds no string and no set per value: `ancestors` (the objects above this one, for
 * cycles and depth) and `segments` (the path, turned into text only for an error) are stacks shared by the walk.
 */
function check(value: unknown, key: string | undefined, ancestors: object[], segments: (string | number)[]): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return
    case 'number':
      // JSON.stringify writes -0 as 0: a sign lost without a word.
      if (Object.is(value, -0)) throw new SessionSerializationError('negative zero (-0)', key, pathOf(segments))
      if (Number.isFinite(value)) return
      break
    case 'object': {
      if (value === null) return
      // A linear scan: a session value is a few levels deep, and this is cheaper than hashing each object.
      if (ancestors.includes(value)) throw new SessionSerializationError('circular reference', key, pathOf(segments))
      if (ancestors.length >= MAX_DEPTH) throw new SessionSerializationError(`structure nested deeper than ${MAX_DEPTH} levels`, key, pathOf(segments))
      // JSON.stringify skips symbol keys and an array's named properties without a word.
      if (Object.getOwnPropertySymbols(value).length > 0) throw new SessionSerializationError('property keyed by a Symbol', key, pathOf(segments))
      if (Array.isArray(value)) {
        if (Object.keys(value).length > value.length) throw new SessionSerializationError('array with named properties', key, pathOf(segments))
        ancestors.push(value)
        for (let i = 0; i < value.length; i++) {
          segments.push(i)
          if (!(i in value)) throw new SessionSerializationError('sparse array', key, pathOf(segments))
          check(value[i], key, ancestors, segments)
          segments.pop()
        }
        ancestors.pop()
        return
      }
      const proto = Object.getPrototypeOf(value)
      if (proto !== Object.prototype && proto !== null) break
      ancestors.push(value)
      for (const k of Object.keys(value)) {
        segments.push(k)
        check((value as Record<string, unknown>)[k], key, ancestors, segments)
        segments.pop()
      }
      ancestors.pop()
      return
    }
  }
  throw new SessionSerializationError(typeName(value), key, pathOf(segments))
}

/**
 * Django's `JSONSerializer`: compact JSON. Object keys are strings after a round trip
 * (behaviour 33); everything else must come back exactly, or `dumps` refuses it.
 *
 * Exported from `edge-session`.
 */
export const jsonSerializer: Serializer = {
  dumps(value, key) {
    check(value, key, [], [])
    return JSON.stringify(value)
  },
  validate(value, key) {
    check(value, key, [], [])
  },
  loads(text) {
    return JSON.parse(text)
  },
}

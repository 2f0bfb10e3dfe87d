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

/** Throws where JSON.stringify would drop, coerce or choke instead of keeping the value. */
function check(value: unknown, key: string | undefined, path: string, seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return
    case 'number':
      // JSON.stringify writes -0 as 0: a sign lost without a word.
      if (Object.is(value, -0)) throw new SessionSerializationError('negative zero (-0)', key, path)
      if (Number.isFinite(value)) return
      break
    case 'object': {
      if (value === null) return
      if (seen.has(value)) throw new SessionSerializationError('circular reference', key, path)
      if (seen.size >= MAX_DEPTH) throw new SessionSerializationError(`structure nested deeper than ${MAX_DEPTH} levels`, key, path)
      // JSON.stringify skips symbol keys and an array's named properties without a word.
      if (Object.getOwnPropertySymbols(value).length > 0) throw new SessionSerializationError('property keyed by a Symbol', key, path)
      if (Array.isArray(value)) {
        if (Object.keys(value).length > value.length) throw new SessionSerializationError('array with named properties', key, path)
        seen.add(value)
        for (let i = 0; i < value.length; i++) {
          if (!(i in value)) throw new SessionSerializationError('sparse array', key, `${path}[${i}]`)
          check(value[i], key, `${path}[${i}]`, seen)
        }
        seen.delete(value)
        return
      }
      const proto = Object.getPrototypeOf(value)
      if (proto !== Object.prototype && proto !== null) break
      seen.add(value)
      for (const k of Object.keys(value)) check((value as Record<string, unknown>)[k], key, `${path}.${k}`, seen)
      seen.delete(value)
      return
    }
  }
  throw new SessionSerializationError(typeName(value), key, path)
}

/**
 * Django's `JSONSerializer`: compact JSON. Object keys are strings after a round trip
 * (behaviour 33); everything else must come back exactly, or `dumps` refuses it.
 *
 * Exported from `edge-session`.
 */
export const jsonSerializer: Serializer = {
  dumps(value, key) {
    check(value, key, '', new Set())
    return JSON.stringify(value)
  },
  validate(value, key) {
    check(value, key, '', new Set())
  },
  loads(text) {
    return JSON.parse(text)
  },
}

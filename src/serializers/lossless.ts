/**
 * A serializer that keeps what JSON loses: `Date`, `BigInt`, `Map`, `Set`, `Uint8Array`, `undefined`
 * (inside objects and arrays too), `NaN`, `±Infinity` and `-0`, as tagged JSON. Everything else JSON
 * cannot keep (class instances, functions, symbols, circular references, sparse arrays) is still refused
 * when set, naming the key: refuse rather than change.
 *
 * Text, Web APIs only: it works on every engine and at the edge. Django cannot read the tags: keep the
 * default `jsonSerializer` where Django shares the session.
 *
 * Exported from `edge-session/lossless`.
 *
 * @module
 */
// The base64url module alone: jose's index also reaches its JWE code, whose CompressionStream webpack flags in edge bundles.
import * as base64url from 'jose/base64url'
import type { Serializer } from '../core/serializer.js'
import { SessionSerializationError } from '../errors.js'

/**
 * The tag key. A plain object that itself has a `$t` key is wrapped (`{"$t":"Object","v":{...}}`), so
 * no stored object is ever mistaken for a tag.
 */
const TAG = '$t'
const MAX_DEPTH = 512

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

function special(number: number): string | null {
  if (Number.isNaN(number)) return 'NaN'
  if (number === Infinity) return 'Infinity'
  if (number === -Infinity) return '-Infinity'
  return Object.is(number, -0) ? '-0' : null
}

function refuse(what: string, key: string | undefined, path: string): never {
  throw new SessionSerializationError(what, key, path)
}

function encode(value: unknown, key: string | undefined, path: string, seen: Set<object>): Json {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value
    case 'number': {
      const name = special(value)
      return name === null ? value : { [TAG]: 'Number', v: name }
    }
    case 'bigint':
      return { [TAG]: 'BigInt', v: value.toString() }
    case 'undefined':
      return { [TAG]: 'undefined' }
    case 'object': {
      if (value === null) return null
      if (seen.has(value)) refuse('circular reference', key, path)
      if (seen.size >= MAX_DEPTH) refuse(`structure nested deeper than ${MAX_DEPTH} levels`, key, path)
      if (Object.getOwnPropertySymbols(value).length > 0) refuse('property keyed by a Symbol', key, path)
      seen.add(value)
      try {
        return encodeObject(value, key, path, seen)
      } finally {
        seen.delete(value)
      }
    }
  }
  return refuse(typeof value === 'function' ? 'function' : 'Symbol', key, path)
}

function encodeObject(value: object, key: string | undefined, path: string, seen: Set<object>): Json {
  const proto = Object.getPrototypeOf(value)
  if (Array.isArray(value)) {
    // A named property or a hole has no place in the array's JSON: refused, as by jsonSerializer.
    if (Object.keys(value).length > value.length) refuse('array with named properties', key, path)
    return Array.from({ length: value.length }, (_, i) => {
      if (!(i in value)) refuse('sparse array', key, `${path}[${i}]`)
      return encode(value[i], key, `${path}[${i}]`, seen)
    })
  }
  // Exact prototypes only: a subclass (a Date with extra methods, a Buffer) would come back as the base class.
  if (proto === Date.prototype) {
    const time = (value as Date).getTime()
    return { [TAG]: 'Date', v: Number.isNaN(time) ? null : (value as Date).toISOString() }
  }
  if (proto === Map.prototype) {
    return { [TAG]: 'Map', v: [...(value as Map<unknown, unknown>)].map(([k, v], i) => [encode(k, key, `${path}<key ${i}>`, seen), encode(v, key, `${path}<value ${i}>`, seen)]) }
  }
  if (proto === Set.prototype) {
    return { [TAG]: 'Set', v: [...(value as Set<unknown>)].map((v, i) => encode(v, key, `${path}<${i}>`, seen)) }
  }
  if (proto === Uint8Array.prototype) return { [TAG]: 'Uint8Array', v: base64url.encode(value as Uint8Array) }
  if (proto !== Object.prototype && proto !== null) {
    const ctor = (value as { constructor?: { name?: string } }).constructor
    refuse(typeof ctor === 'function' && ctor.name ? ctor.name : 'object', key, path)
  }
  // fromEntries, not `out[k] =`: assigning a "__proto__" key would set the prototype and drop the key.
  const out: Record<string, Json> = Object.fromEntries(
    Object.keys(value).map((k) => [k, encode((value as Record<string, unknown>)[k], key, `${path}.${k}`, seen)]),
  )
  return Object.hasOwn(out, TAG) ? { [TAG]: 'Object', v: out } : out
}

function bad(detail: string): never {
  throw new TypeError(`losslessSerializer: not a value it wrote (${detail}).`)
}

function decode(json: Json): unknown {
  if (json === null || typeof json !== 'object') return json
  if (Array.isArray(json)) return json.map(decode)
  if (!Object.hasOwn(json, TAG)) return decodeEntries(json)
  const v = json.v
  switch (json[TAG]) {
    case 'undefined':
      return undefined
    case 'Number':
      if (v === 'NaN') return NaN
      if (v === 'Infinity') return Infinity
      if (v === '-Infinity') return -Infinity
      if (v === '-0') return -0
      return bad('Number')
    case 'BigInt':
      return typeof v === 'string' && /^-?\d+$/.test(v) ? BigInt(v) : bad('BigInt')
    case 'Date':
      if (v === null) return new Date(NaN)
      return typeof v === 'string' ? new Date(v) : bad('Date')
    case 'Map':
      return Array.isArray(v) ? new Map(v.map((entry) => (Array.isArray(entry) && entry.length === 2 ? [decode(entry[0]!), decode(entry[1]!)] : bad('Map entry')))) : bad('Map')
    case 'Set':
      return Array.isArray(v) ? new Set(v.map(decode)) : bad('Set')
    case 'Uint8Array':
      return typeof v === 'string' ? new Uint8Array(base64url.decode(v)) : bad('Uint8Array')
    case 'Object':
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? decodeEntries(v) : bad('Object')
  }
  return bad(`unknown tag ${JSON.stringify(json[TAG])}`)
}

/** Own data properties only: `Object.fromEntries` defines `__proto__` as a plain key, never as the prototype. */
function decodeEntries(json: { [key: string]: Json }): Record<string, unknown> {
  return Object.fromEntries(Object.entries(json).map(([k, v]) => [k, decode(v)]))
}

/**
 * Tagged JSON. Plain JSON values are written exactly as `jsonSerializer` writes them, so switching to it
 * reads every session stored before; switching back loses only the tagged values' types.
 *
 * @example
 * ```ts
 * import { losslessSerializer } from 'edge-session/lossless'
 * const store = createSessionStore<{ cart: Map<string, bigint>; seen: Date }>({ serializer: losslessSerializer })
 * ```
 */
export const losslessSerializer: Serializer = {
  dumps(value, key) {
    return JSON.stringify(encode(value, key, '', new Set()))
  },
  validate(value, key) {
    encode(value, key, '', new Set())
  },
  loads(text) {
    return decode(JSON.parse(text) as Json)
  },
}

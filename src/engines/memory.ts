/**
 * An in-memory engine for tests, scripts and development. It keeps each field serialized
 * on its own, as the Upstash engine does, so the two behave alike: concurrent writers of
 * different keys both survive, nested objects are copies, not shared references, and fields keep their order
 * (a Map is ordered; a field removed and written again moves to the end).
 *
 * Exported from `edge-session` and `edge-session/memory`.
 *
 * @module
 */
import { KEY_CYCLED, KEY_CYCLED_SECONDS, type EngineFactory, type SessionEngine, type SessionWrite } from '../core/engine.js'
import { checkExpiryAge, EXPIRY_KEY } from '../core/expiry.js'
import { CreateError, UpdateError } from '../errors.js'

interface Record_ {
  fields: Map<string, string>
  expiresAt: number
}

export interface MemoryEngine extends SessionEngine {
  /** How many records are held now, expired ones included until they are touched or swept. */
  readonly size: number
}

/**
 * @example
 * ```ts
 * const store = createSessionStore({ engine: memoryEngine(), secret })
 * ```
 */
export function memoryEngine(): (settings: Parameters<EngineFactory>[0]) => MemoryEngine {
  return (settings): MemoryEngine => {
    const records = new Map<string, Record_>()
    /** Keys a cycle moved away from, until when (ms) they load as `KEY_CYCLED`; swept by `clearExpired()`. */
    const cycled = new Map<string, number>()
    const live = (key: string): Record_ | undefined => {
      const record = records.get(key)
      if (record && record.expiresAt <= Date.now()) {
        records.delete(key)
        return undefined
      }
      return record
    }
    /**
     * Writes `write` into `key`'s record (`existing`, or none). Everything is computed before the store is touched:
     * a value that fails to serialize, or an expiry over the limit, leaves it whole.
     */
    const put = (key: string, existing: Record_ | undefined, write: SessionWrite): void => {
      const fields = new Map(write.replace || !existing ? [] : existing.fields)
      for (const field of write.deleted) fields.delete(field)
      for (const [field, value] of write.data) if (write.changed.has(field)) fields.set(field, settings.serializer.dumps(value, field))
      // The record's own expiry decides, also when a concurrent request set it and this write left it alone.
      const stored = fields.get(EXPIRY_KEY)
      const age = write.expiryAgeOf(stored === undefined ? undefined : settings.serializer.loads(stored))
      checkExpiryAge(age)
      if (age <= 0) records.delete(key)
      else records.set(key, { fields, expiresAt: Date.now() + age * 1000 })
    }
    return {
      get size() {
        return records.size
      },
      async load(key) {
        const record = live(key)
        if (!record) return (cycled.get(key) ?? 0) > Date.now() ? KEY_CYCLED : null
        try {
          // fromEntries defines own properties: a "__proto__" field stays data.
          return Object.fromEntries([...record.fields].map(([field, text]) => [field, settings.serializer.loads(text)]))
        } catch {
          return null
        }
      },
      async save(key, write, { mustCreate }) {
        const existing = live(key)
        if (mustCreate && existing) throw new CreateError()
        if (!mustCreate && !existing) throw new UpdateError()
        put(key, existing, write)
        return key
      },
      async cycle(oldKey, newKey, write) {
        if (live(newKey)) throw new CreateError()
        // A logout that deleted the old record first wins: its data is not brought back under the new key.
        if (!live(oldKey)) throw new UpdateError()
        put(newKey, undefined, write)
        records.delete(oldKey)
        cycled.set(oldKey, Date.now() + KEY_CYCLED_SECONDS * 1000)
        return newKey
      },
      async delete(key) {
        records.delete(key)
        cycled.delete(key)
      },
      async exists(key) {
        return live(key) !== undefined
      },
      async clearExpired() {
        for (const key of [...records.keys()]) live(key)
        for (const [key, until] of [...cycled]) if (until <= Date.now()) cycled.delete(key)
      },
    }
  }
}

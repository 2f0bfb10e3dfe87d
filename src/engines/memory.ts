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
  /** A key a cycle moved away from: no data, loads as `KEY_CYCLED` until it expires (the Upstash engine's marker). */
  cycled?: true
}

export interface MemoryEngine extends SessionEngine {
  /** How many records are held now (cycled keys' markers too), expired ones included until they are touched or swept. */
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
    const live = (key: string): Record_ | undefined => {
      const record = records.get(key)
      if (record && record.expiresAt <= Date.now()) {
        records.delete(key)
        return undefined
      }
      return record
    }
    /** A live session record: not a cycled key's marker. */
    const session = (key: string): Record_ | undefined => {
      const record = live(key)
      return record?.cycled ? undefined : record
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
        if (!record) return null
        if (record.cycled) return KEY_CYCLED
        try {
          // fromEntries defines own properties: a "__proto__" field stays data.
          return Object.fromEntries([...record.fields].map(([field, text]) => [field, settings.serializer.loads(text)]))
        } catch {
          return null
        }
      },
      async save(key, write, { mustCreate }) {
        // A marker takes its key as a record does: a create picks another, an update finds no session.
        const existing = live(key)
        if (mustCreate && existing) throw new CreateError()
        if (!mustCreate && (!existing || existing.cycled)) throw new UpdateError()
        put(key, existing, write)
        return key
      },
      async cycle(oldKey, newKey, write) {
        if (live(newKey)) throw new CreateError()
        // A logout that deleted the old record first wins: its data is not brought back under the new key.
        if (!session(oldKey)) throw new UpdateError()
        put(newKey, undefined, write)
        records.set(oldKey, { fields: new Map(), expiresAt: Date.now() + KEY_CYCLED_SECONDS * 1000, cycled: true })
        return newKey
      },
      async delete(key) {
        records.delete(key)
      },
      async exists(key) {
        return session(key) !== undefined
      },
      async clearExpired() {
        for (const key of [...records.keys()]) live(key)
      },
    }
  }
}

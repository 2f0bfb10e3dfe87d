/**
 * An in-memory engine for tests, scripts and development. It keeps each field serialized
 * on its own, as the Upstash engine does, so the two behave alike: concurrent writers of
 * different keys both survive, and nested objects are copies, not shared references.
 *
 * Exported from `edge-session` and `edge-session/memory`.
 *
 * @module
 */
import type { EngineFactory, SessionEngine } from '../core/engine.js'
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
    const live = (key: string): Record_ | undefined => {
      const record = records.get(key)
      if (record && record.expiresAt <= Date.now()) {
        records.delete(key)
        return undefined
      }
      return record
    }
    return {
      get size() {
        return records.size
      },
      async load(key) {
        const record = live(key)
        if (!record) return null
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
        // Serialize everything before touching the record: a value that fails must leave it whole.
        const serialized = [...write.changed].map((field) => [field, settings.serializer.dumps(write.data.get(field), field)] as const)
        const fields = write.replace || !existing ? new Map<string, string>() : existing.fields
        for (const field of write.deleted) fields.delete(field)
        for (const [field, text] of serialized) fields.set(field, text)
        if (write.expiryAge <= 0) records.delete(key)
        else records.set(key, { fields, expiresAt: Date.now() + write.expiryAge * 1000 })
        return key
      },
      async delete(key) {
        records.delete(key)
      },
      async exists(key) {
        return live(key) !== undefined
      },
      async clearExpired() {
        for (const key of [...records.keys()]) live(key)
      },
    }
  }
}

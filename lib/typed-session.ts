import { withSchema, type SchemaOutput } from 'edge-session/schema'
import { createSessionStore } from 'edge-session'
import * as v from 'valibot'
import { COLORS } from './preferences'
import { store } from './session'

/**
 * The demo's session shape as a Standard Schema (valibot here; zod or arktype work the same). Read through it,
 * a stored session that does not match (an older deploy's shape, a hand-edited record) loads as empty.
 */
export const DemoSessionSchema = v.object({
  user: v.optional(v.object({ username: v.string(), name: v.string() })),
  fav_color: v.optional(v.picklist(COLORS)),
  note: v.optional(v.string()),
})

/** `{ user?: { username: string; name: string }; fav_color?: 'red' | …; note?: string }`, inferred from the schema. */
export type TypedDemoSession = SchemaOutput<typeof DemoSessionSchema>

/** The app's own engine and settings, read through the schema: the same sessions, validated on load. */
export const typedStore = createSessionStore<TypedDemoSession>({ ...store.settings, engine: withSchema(DemoSessionSchema, store.engine) })

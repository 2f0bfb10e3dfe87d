/**
 * Schema validation on read, through the Standard Schema interface (`~standard`) that zod (≥ 3.24),
 * valibot, arktype and others implement: a stored session that no longer matches the app's shape (one
 * an older deploy wrote, one edited by hand) never reaches the app. No validator is a dependency.
 *
 * `withSchema` wraps any engine, so it works with every engine and in every framework, and the core
 * knows nothing of it.
 *
 * Exported from `edge-session/schema`.
 *
 * @module
 */
import { KEY_CYCLED, type EngineFactory, type SessionEngine } from './core/engine.js'
import { cookieEngine } from './engines/cookie.js'
import { SessionConfigError, SessionSchemaMismatch } from './errors.js'

/** One problem a validator found, as the Standard Schema spec (v1) describes it. */
export interface StandardSchemaIssue {
  readonly message: string
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined
}

export type StandardSchemaResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<StandardSchemaIssue> }

/** The Standard Schema interface (v1, standardschema.dev), restated here so no validator is a dependency. */
export interface StandardSchema<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1
    readonly vendor: string
    readonly validate: (value: unknown) => StandardSchemaResult<Output> | Promise<StandardSchemaResult<Output>>
    readonly types?: { readonly input: Input; readonly output: Output } | undefined
  }
}

/** The session data type a schema produces: `createNextSession<SchemaOutput<typeof schema>>(...)`. */
export type SchemaOutput<S extends StandardSchema> = NonNullable<S['~standard']['types']>['output']

export interface WithSchemaOptions {
  /**
   * What a stored session that fails the schema becomes. `'empty'` (the default): a fresh empty session,
   * as Django does with a session it cannot decode; the user is signed out, the app never sees bad data.
   * `'throw'`: the first read rejects with `SessionSchemaMismatch`, for apps that would rather migrate.
   */
  onInvalid?: 'empty' | 'throw'
}

/** Dotted path of an issue: `user.roles.0`; `''` for the session itself. */
function issuePath(issue: StandardSchemaIssue): string {
  return (issue.path ?? []).map((part) => String(typeof part === 'object' ? part.key : part)).join('.')
}

/**
 * An engine that validates each stored session against `schema` when it loads. Keys starting with `_`
 * (the expiry, the last refresh, a user's binding: edge-session's own) are left out of the validation and kept as stored.
 * The schema's output is what the session holds, so defaults and transforms apply.
 *
 * Writes are not validated: the session's type, `SchemaOutput<typeof schema>`, checks them at compile time.
 *
 * @example
 * ```ts
 * import { z } from 'zod'
 * import { withSchema, type SchemaOutput } from 'edge-session/schema'
 *
 * const AppSession = z.object({ user: z.object({ id: z.string(), name: z.string() }).optional() })
 * export const { getSession } = createNextSession<SchemaOutput<typeof AppSession>>({ engine: withSchema(AppSession) })
 * ```
 */
export function withSchema<S extends StandardSchema>(
  schema: S,
  engine: SessionEngine | EngineFactory = cookieEngine(),
  options: WithSchemaOptions = {},
): EngineFactory {
  const validate = (schema as Partial<StandardSchema> | null)?.['~standard']?.validate
  if (typeof validate !== 'function') {
    throw new SessionConfigError('schema', 'must implement Standard Schema (a "~standard" property with validate()): zod ≥ 3.24, valibot ≥ 1, arktype…')
  }
  const onInvalid = options.onInvalid ?? 'empty'
  if (onInvalid !== 'empty' && onInvalid !== 'throw') throw new SessionConfigError('onInvalid', 'must be "empty" or "throw".')

  return (settings) => {
    const inner = typeof engine === 'function' ? engine(settings) : engine
    // Every other method, `cycle` and any an engine adds, is the inner engine's own.
    const validated: SessionEngine = Object.create(inner)
    validated.load = async (key) => {
      const record = await inner.load(key)
      if (record === null || record === KEY_CYCLED) return record
      const own: Record<string, unknown> = {}
      const data: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(record)) (k.startsWith('_') ? own : data)[k] = v
      const result = await validate.call(schema['~standard'], data)
      const output = result.issues ? undefined : (result as { value: unknown }).value
      if (output === undefined || output === null || typeof output !== 'object' || Array.isArray(output)) {
        if (onInvalid === 'throw') throw new SessionSchemaMismatch(result.issues ? result.issues.map(issuePath) : [''])
        return null
      }
      return { ...output, ...own }
    }
    return validated
  }
}

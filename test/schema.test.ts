/**
 * withSchema: Standard Schema validation on read, with two real validators (zod and valibot).
 */
import * as v from 'valibot'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { z } from 'zod'
import { cookieEngine } from '../src/engines/cookie.js'
import { memoryEngine } from '../src/engines/memory.js'
import { SessionConfigError, SessionSchemaMismatch } from '../src/errors.js'
import { withSchema, type SchemaOutput, type StandardSchema } from '../src/schema.js'
import { losslessSerializer } from '../src/serializers/lossless.js'
import { createSessionStore } from '../src/store.js'
import type { SessionEngine } from '../src/core/engine.js'

const SECRET = 'schema test secret, at least 32 bytes!!'

const zodSchema = z.object({
  user: z.object({ id: z.string(), name: z.string(), roles: z.array(z.enum(['admin', 'staff'])) }).optional(),
  theme: z.enum(['light', 'dark']).default('light'),
})
const valibotSchema = v.object({
  user: v.optional(v.object({ id: v.string(), name: v.string(), roles: v.array(v.picklist(['admin', 'staff'])) })),
  theme: v.optional(v.picklist(['light', 'dark']), 'light'),
})

const user = { id: 'u-42', name: 'Ada Lovelace, Countess of Lovelace', roles: ['admin' as const] }

describe.each([
  ['zod', zodSchema],
  ['valibot', valibotSchema],
] as const)('withSchema and %s', (_name, schema) => {
  type Data = SchemaOutput<typeof schema>
  /** One shared memory engine: a "previous deploy" writes through it without the schema, the app reads with it. */
  const shared = createSessionStore({ secret: SECRET, engine: memoryEngine() }).engine
  function stores(onInvalid?: 'empty' | 'throw') {
    return {
      previousDeploy: createSessionStore<Record<string, unknown>>({ secret: SECRET, engine: shared }),
      app: createSessionStore<Data>({ secret: SECRET, engine: withSchema(schema, shared, onInvalid ? { onInvalid } : {}) }),
    }
  }

  async function written(data: Record<string, unknown>, expiry?: number): Promise<string> {
    const session = stores().previousDeploy.open()
    await session.aupdate(data)
    if (expiry !== undefined) await session.asetExpiry(expiry)
    await session.asave()
    return session.sessionKey!
  }

  it('types the session from the schema', () => {
    expectTypeOf<Data>().toEqualTypeOf<{ user?: { id: string; name: string; roles: ('admin' | 'staff')[] } | undefined; theme: 'light' | 'dark' }>()
  })

  it("a stored session that matches loads as the schema's output (defaults applied), reserved keys kept", async () => {
    const key = await written({ user }, 3600)
    const session = stores().app.open(key)
    expect(await session.aget('user')).toEqual(user)
    expect(await session.aget('theme')).toBe('light')
    expect(await session.agetExpiryAge()).toBe(3600)
  })

  it("a session an older deploy wrote in another shape loads as empty (the default), and the app never sees it", async () => {
    for (const old of [{ user: 'ada' }, { user: { ...user, roles: ['root'] } }, { theme: 'sepia' }, { user: { id: 42, name: 'Ada', roles: [] } }]) {
      const session = stores().app.open(await written(old))
      expect(await session.aitems()).toEqual([])
      expect(session.sessionKey).toBeNull()
    }
  })

  it("onInvalid: 'throw' rejects with SessionSchemaMismatch naming where, carrying no data", async () => {
    const key = await written({ user: { id: 'u-1', name: 'secret-name-value', roles: ['root'] }, theme: 'sepia' })
    const error = await stores('throw').app.open(key).aget('user').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SessionSchemaMismatch)
    expect((error as SessionSchemaMismatch).code).toBe('ERR_SESSION_SCHEMA_MISMATCH')
    expect([...(error as SessionSchemaMismatch).paths].sort()).toEqual(['theme', 'user.roles.0'])
    expect((error as Error).message).not.toContain('secret-name-value')
    expect((error as Error).message).not.toContain('root')
  })

  it('a missing or tampered session is still just empty, and new sessions are written as before', async () => {
    const { app } = stores('throw')
    expect(await app.open('nonexistentkeynonexistentkey1234').aitems()).toEqual([])
    const session = app.open()
    await session.aset('user', user)
    await session.asave()
    expect(await app.open(session.sessionKey).aget('user')).toEqual(user)
  })
})

describe('withSchema around other engines and serializers', () => {
  it('wraps the default cookie engine, and keeps its behaviour (a cycled key still loads)', async () => {
    const store = createSessionStore<SchemaOutput<typeof zodSchema>>({ secret: SECRET, engine: withSchema(zodSchema) })
    const session = store.open()
    await session.aset('user', user)
    await session.asave()
    await session.acycleKey()
    expect(await store.open(session.sessionKey).aget('user')).toEqual(user)
    const forged = createSessionStore({ secret: SECRET, engine: cookieEngine() }).open()
    await forged.aupdate({ user: 'not an object' })
    await forged.asave()
    expect(await store.open(forged.sessionKey).aitems()).toEqual([])
  })

  it('validates what the lossless serializer restores: a Date stays a Date', async () => {
    const schema = z.object({ lastSeen: z.date(), visits: z.bigint() })
    const store = createSessionStore<SchemaOutput<typeof schema>>({ secret: SECRET, serializer: losslessSerializer, engine: withSchema(schema, memoryEngine()) })
    const session = store.open()
    await session.aupdate({ lastSeen: new Date(5000), visits: 3n })
    await session.asave()
    const again = store.open(session.sessionKey)
    expect(await again.aget('lastSeen')).toEqual(new Date(5000))
    expect(await again.aget('visits')).toBe(3n)
  })

  it('keeps methods the inner engine adds (cycle and others)', () => {
    const inner = memoryEngine()({ ...createSessionStore({ secret: SECRET }).settings })
    const wrapped = withSchema(zodSchema, { ...inner, cycle: inner.cycle, custom: () => 'mine' } as SessionEngine & { custom(): string })(
      createSessionStore({ secret: SECRET }).settings,
    ) as SessionEngine & { custom(): string }
    expect(wrapped.custom()).toBe('mine')
    expect(wrapped.cycle).toBe(inner.cycle)
  })

  it('refuses, at configuration time, something that is not a Standard Schema', () => {
    expect(() => withSchema({} as StandardSchema)).toThrow(SessionConfigError)
    expect(() => withSchema(zodSchema, memoryEngine(), { onInvalid: 'ignore' as 'empty' })).toThrow(SessionConfigError)
  })
})

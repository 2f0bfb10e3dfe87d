/**
 * Reading the environment never throws. Deno without --allow-env throws `NotCapable` from every
 * `process.env` read; sandboxes may do the same. An option passed explicitly is never looked up, and a
 * lookup the runtime refuses counts as unset. (Deno itself, with no permission at all, is in matrix.test.ts.)
 */
import { describe, expect, it } from 'vitest'
import { createSessionStore, SessionConfigError } from '../../src/index.js'
import { upstashEngine } from '../../src/engines/upstash.js'

const SECRET = 'env test secret of at least thirty-two bytes'

/** Deno's error for a refused read: a plain Error named NotCapable. */
class NotCapable extends Error {
  override name = 'NotCapable'
}

/**
 * Runs `fn` with `process.env` replaced by a proxy that records each name read and answers from `values`,
 * or throws for every read when `values` is 'refuse'. Synchronous, so nothing else sees the stand-in.
 */
function withEnv<T>(values: Record<string, string> | 'refuse', fn: () => T): { result: T; reads: string[] } {
  const reads: string[] = []
  const stand = new Proxy({} as Record<string, string>, {
    get(_, name) {
      if (typeof name !== 'string') return undefined
      reads.push(name)
      if (values === 'refuse') throw new NotCapable(`Requires env access to "${name}", run again with the --allow-env flag`)
      return values[name]
    },
  })
  const original = Object.getOwnPropertyDescriptor(process, 'env')!
  Object.defineProperty(process, 'env', { get: () => stand, configurable: true })
  try {
    return { result: fn(), reads }
  } finally {
    Object.defineProperty(process, 'env', original)
  }
}

function configError(fn: () => unknown): SessionConfigError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(SessionConfigError)
    return err as SessionConfigError
  }
  throw new Error('expected a SessionConfigError, nothing was thrown')
}

describe('reading the environment', () => {
  it('a refused lookup counts as unset: the store is made, and cookieSecure falls back to its development default', async () => {
    const { result: store, reads } = withEnv('refuse', () => createSessionStore({ secret: SECRET }))
    expect(reads).toEqual(['SESSION_SECRET_FALLBACKS', 'NODE_ENV'])
    expect(store.settings.secretFallbacks).toEqual([])
    expect(store.settings.cookieSecure).toBe(false)
    // The store works: a session round-trips through its cookie.
    const session = store.open()
    await session.aset('user', { id: 1, name: 'x'.repeat(80) })
    await session.asave()
    expect(await store.open(session.sessionKey).aget('user')).toEqual({ id: 1, name: 'x'.repeat(80) })
  })

  it('a refused SESSION_SECRET is the usual "secret is missing" error, not the runtime\'s', () => {
    const err = configError(() => withEnv('refuse', () => createSessionStore()))
    expect(err.option).toBe('secret')
    expect(err.message).toMatch(/SESSION_SECRET/)
  })

  it('an option given explicitly is not looked up', () => {
    const all = withEnv('refuse', () => createSessionStore({ secret: SECRET, secretFallbacks: [], cookieSecure: true }))
    expect(all.reads).toEqual([])
    expect(all.result.settings.cookieSecure).toBe(true)

    const env = { SESSION_SECRET: 'from the environment, thirty-two bytes+', NODE_ENV: 'production' }
    const some = withEnv(env, () => createSessionStore({ secret: SECRET, cookieSecure: false }))
    expect(some.reads).toEqual(['SESSION_SECRET_FALLBACKS'])
    expect(some.result.settings.secret).toBe(SECRET)
    expect(some.result.settings.cookieSecure).toBe(false)
  })

  it('the environment is still read when options are left out', () => {
    const env = { SESSION_SECRET: 'from the environment, thirty-two bytes+', SESSION_SECRET_FALLBACKS: ` ${SECRET} ,`, NODE_ENV: 'production' }
    const { result: store } = withEnv(env, () => createSessionStore())
    expect(store.settings.secret).toBe(env.SESSION_SECRET)
    expect(store.settings.secretFallbacks).toEqual([SECRET])
    expect(store.settings.cookieSecure).toBe(true)
  })

  it('the Upstash engine: a given url and token are not looked up; refused ones are missing', () => {
    const given = withEnv({}, () =>
      createSessionStore({ secret: SECRET, secretFallbacks: [], cookieSecure: false, engine: upstashEngine({ redis: { url: 'http://127.0.0.1:1', token: 't' } }) }),
    )
    // @upstash/redis's Node entry reads its own telemetry variables (which is why Deno gets its fetch-only entry:
    // see the "#upstash-redis" imports in package.json); the engine reads none of the connection variables.
    expect(given.reads.filter((name) => /REST_API|REDIS_REST/.test(name))).toEqual([])
    const err = configError(() => withEnv('refuse', () => createSessionStore({ secret: SECRET, engine: upstashEngine() })))
    expect(err.option).toBe('redis')
    expect(err.message).toMatch(/UPSTASH_REDIS_REST_URL/)
  })
})

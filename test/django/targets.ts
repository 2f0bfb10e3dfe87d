/**
 * Our engines as the differential test runs them, each paired with the Django engine it answers to:
 * memory ↔ cache (locmem), cookie ↔ signed_cookies, Upstash (our REST server over real Redis) ↔ cache.
 */
import { base64url } from 'jose'
import { cookieEngine, createSessionStore, memoryEngine, type SessionStore } from '../../src/index.js'
import { DJANGO_SESSION_SALT, djangoCookieEngine, djangoSigning } from '../../src/engines/django-cookie.js'
import { upstashEngine } from '../../src/engines/upstash.js'
import { uniquePrefix, type UpstashFixture } from '../support/upstash.js'
import { counting, SECRET, storeOptions, type Target, type World } from './ours.js'
import type { Config } from './protocol.js'

const nothing = async (): Promise<void> => {}

/** A store over `inner`'s engine whose loads are counted. */
function world(inner: SessionStore, config: Config, onMiss: (key: string) => Promise<void>, extra: Partial<World> = {}): World {
  const store = createSessionStore({ ...storeOptions(config), engine: counting(inner.engine, onMiss) })
  return { store, settle: nothing, advance: nothing, dispose: nothing, ...extra }
}

export const memoryTarget: Target = {
  name: 'memory',
  django: 'cache',
  serverSide: true,
  // A fresh engine per sequence: an empty store, like driver.py's cache.clear().
  world: async (config, onMiss) => world(createSessionStore({ ...storeOptions(config), engine: memoryEngine() }), config, onMiss),
}

/** The cookie engine holds no state but derives its keys once: one store per setting combination. */
const cookieStores = new Map<string, SessionStore>()

export const cookieTarget: Target = {
  name: 'cookie',
  django: 'signed_cookies',
  serverSide: false,
  whyMissed(token, now) {
    // The signed payload starts with the expiry second (src/engines/cookie.ts); read without verifying.
    try {
      const exp = /^\d+/.exec(new TextDecoder().decode(base64url.decode(token.split('.')[1] ?? '')))
      return exp && Number(exp[0]) * 1000 <= now ? 'expired' : 'invalid'
    } catch {
      return 'invalid'
    }
  },
  async world(config, onMiss) {
    const id = JSON.stringify(config)
    let inner = cookieStores.get(id)
    if (!inner) cookieStores.set(id, (inner = createSessionStore({ ...storeOptions(config), engine: cookieEngine() })))
    return world(inner, config, onMiss)
  },
}

/** The engine that reads and writes Django's own signed-cookie format, against the Django it copies. */
export const djangoCookieTarget: Target = {
  name: 'django-cookie',
  django: 'signed_cookies',
  serverSide: false,
  async whyMissed(token, _now, config) {
    const result = await djangoSigning({ secret: SECRET, salt: DJANGO_SESSION_SALT }).loads(token, { maxAge: config.cookieAge })
    // Signed, and signed recently enough for Django: refused by its own per-session expiry.
    if (result.ok) return 'expired'
    return result.reason === 'expired' ? 'expired' : 'invalid'
  },
  async world(config, onMiss) {
    const id = `django ${JSON.stringify(config)}`
    let inner = cookieStores.get(id)
    if (!inner) cookieStores.set(id, (inner = createSessionStore({ ...storeOptions(config), engine: djangoCookieEngine() })))
    return world(inner, config, onMiss)
  },
}

/**
 * Upstash over real Redis. Redis expires records on its own clock, not the frozen one, so after
 * every step the sequence's records are taken off it (PERSIST, remembering what was left of each
 * TTL), and `advance` takes the time off what is left, deleting what runs out: Redis then sees
 * the time the sequence says has passed. Exactly, as long as a step takes less than 250 ms of real time:
 * the generator's expiries and clock moves are multiples of 250 ms.
 */
export function upstashTarget(fx: UpstashFixture): Target {
  return {
    name: 'upstash',
    django: 'cache',
    serverSide: true,
    async world(config, onMiss) {
      const prefix = uniquePrefix('django')
      const inner = createSessionStore({
        ...storeOptions(config),
        engine: upstashEngine({ redis: { url: fx.server.url, token: fx.server.token }, prefix }),
      })
      const left = new Map<string, number>()
      return world(inner, config, onMiss, {
        async settle() {
          const keys = await fx.direct.keys(`${prefix}*`)
          for (const key of [...left.keys()]) if (!keys.includes(key)) left.delete(key)
          for (const key of keys) {
            const ttl = await fx.direct.pttl(key)
            if (ttl < 0) continue // already taken off the clock, and not written since
            left.set(key, ttl)
            await fx.direct.persist(key)
          }
        },
        async advance(ms) {
          for (const [key, ttl] of left) {
            if (ttl - ms > 0) left.set(key, ttl - ms)
            else {
              left.delete(key)
              await fx.direct.del(key)
            }
          }
        },
        async dispose() {
          const keys = await fx.direct.keys(`${prefix}*`)
          if (keys.length > 0) await fx.direct.del(...keys)
        },
      })
    },
  }
}

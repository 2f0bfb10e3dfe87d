/**
 * The revocation store on Upstash Redis, for `cookieEngine({ revocation: upstashRevocation() })`. Same client
 * rules as the Upstash engine (the same options, environment variables, timeout and single retry; failures are
 * `SessionStoreUnavailable`).
 *
 * What it stores: for each user with a live signed-in cookie, the per-user index of src/users/redis-index.ts
 * (one sorted-set member and one hash field per live session, about 100 bytes). Ending a session removes its
 * entry, so a logout shrinks the store; entries of sessions that simply expire are pruned by the next script
 * that touches the user, and a user's keys expire with their last session. Nothing grows per logout.
 *
 * Exported from `edge-session/revocation`.
 *
 * @module
 */
import { buildClient, unavailable, type UpstashEngineOptions } from '../engines/upstash.js'
import { CreateError, UpdateError } from '../errors.js'
import { redisUserIndex } from '../users/redis-index.js'
import type { RevocationStore } from './index.js'

export { revocable, SESSION_ID_KEY } from './index.js'
export type { RevocationStore } from './index.js'

export type UpstashRevocationOptions = UpstashEngineOptions

const DEFAULT_PREFIX = 'edge-session:revocation:'

/**
 * @example
 * ```ts
 * import { cookieEngine } from 'edge-session/cookie'
 * import { upstashRevocation } from 'edge-session/revocation'
 * // Reads UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN, as the Upstash engine does.
 * createSessionStore({ engine: cookieEngine({ revocation: upstashRevocation() }) })
 * ```
 */
export function upstashRevocation(options: UpstashRevocationOptions = {}): RevocationStore {
  const redis = buildClient(options)
  const index = redisUserIndex(async (what, script, keys, args) => {
    try {
      return await redis.eval(script, keys, args)
    } catch (err) {
      throw unavailable(what, err)
    }
  }, options.prefix ?? DEFAULT_PREFIX)
  return {
    isLive: (userId, sessionId) => index.isLive(userId, sessionId, Date.now()),
    async endCycled(userId, sessionId) {
      if (!(await index.endCycled(userId, sessionId, Date.now()))) throw new UpdateError()
    },
    async track(userId, sessionId, { expires, label }, mode) {
      const reply = await index.put(userId, sessionId, mode, expires, Date.now(), label)
      if (reply === 0) throw new CreateError()
      if (reply === -1) throw new UpdateError()
    },
    list: (userId) => index.list(userId),
    end: (userId, which) => index.end(userId, which),
  }
}

/**
 * The Upstash Redis engine: server-side sessions over Upstash's REST API, in Node and at the edge.
 * Sessions are revocable, can outgrow a cookie, and are shared by every region.
 *
 * Exported from `edge-session/upstash` (the only module that imports `@upstash/redis`, an optional peer).
 *
 * Storage: one Redis hash per session, under `prefix + sha256hex(sessionKey)` (a dump of the store
 * hands out no usable session key), one hash field per session key holding its serialized value,
 * plus a marker field so an empty session still exists. The TTL is set from the session's expiry age
 * on every write, so Redis expires sessions itself: `clearExpired()` is a no-op.
 *
 * Round trips (HTTP requests to Upstash, asserted by test/upstash-engine.test.ts):
 * - reading a session: 1 (the first data access loads everything; later reads are free);
 * - saving a change, or creating a session: 1;
 * - login, `acycleKey()` on a loaded session and then a write: 3 (load, cycle, save); `acycleKey()` alone: 2;
 *   on a visitor with no session yet: 1 (a create), 2 with a write after it;
 * - logout, `aflush()`: 1 (it deletes without loading);
 * - a request that touches no session data: 0.
 * Each operation is one `EVAL` (or `DEL`/`EXISTS`), whatever the client's auto-pipelining setting. `EVAL`, not
 * `EVALSHA`: a NOSCRIPT fallback would make the first request after a Redis restart cost two.
 *
 * The client the engine builds (from `{ url, token }` or the environment) times out after `timeoutMs`, retries a
 * network error once after 50 ms (the client's default is 5 retries over ~4 s, during which an outage hangs every
 * request), and sends one command per request. A client you pass is used as it is: see `redis` below.
 *
 * @module
 */
import { Redis } from '@upstash/redis'
import type { EngineFactory, SessionEngine, SessionWrite } from '../core/engine.js'
import { env, type SessionSettings } from '../core/settings.js'
import { CreateError, SessionConfigError, SessionStoreUnavailable, UpdateError } from '../errors.js'
import { sha256Hex } from '../lib/crypto.js'

/** The client methods the engine uses: an `@upstash/redis` `Redis` from any of its entry points. */
export type UpstashClient = Pick<Redis, 'eval' | 'del' | 'exists'>

export interface UpstashEngineOptions {
  /**
   * A client, or its URL and token. Default: `UPSTASH_REDIS_REST_URL` and `UPSTASH_REDIS_REST_TOKEN`
   * (else Vercel's `KV_REST_API_URL` and `KV_REST_API_TOKEN`) from the environment.
   *
   * A client you pass keeps its own settings. Give it a timeout as a signal *function*,
   * `new Redis({ url, token, signal: () => AbortSignal.timeout(3000) })` (a plain `AbortSignal` makes the client
   * invent a reply once aborted), and a small `retry`: by default it retries a network error 5 times over about 4 s.
   */
  redis?: UpstashClient | { url: string; token: string }
  /** Prepended to every Redis key. Default `"edge-session:"`. */
  prefix?: string
  /**
   * Per-request timeout in milliseconds when the engine builds the client (default 3000).
   * Not accepted with a client you built: set its `signal` instead, as shown for `redis`.
   */
  timeoutMs?: number
}

const DEFAULT_PREFIX = 'edge-session:'
const DEFAULT_TIMEOUT_MS = 3000
/** One retry, soon: a lost connection gets a second chance, an outage answers in one timeout, not the client's default ~4 s. */
const RETRY = { retries: 1, backoff: () => 50 }
/**
 * Marks the hash as a session even when it holds no data (Redis drops empty hashes). Keys starting
 * with "_" belong to edge-session (Django behaviour 17), and none other is named this, so no data collides.
 */
const RECORD_FIELD = '_record'
/**
 * Prefixed to every string a script returns. No JSON starts with "~", so a client with
 * `automaticDeserialization` (the default) hands the strings back untouched instead of parsing them.
 */
const RAW = '~'

// Every script names all its keys in KEYS, as Upstash's per-key locking requires.
const LOAD = `
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return false end
local flat = redis.call('HGETALL', KEYS[1])
for i = 1, #flat do flat[i] = '${RAW}' .. flat[i] end
return flat`

/**
 * Save and cycle, Django's contract in one atomic step. ARGV: mode ("create" | "update"), TTL in ms, replace (0/1),
 * the number of deleted fields, the deleted fields, then field/value pairs. Returns 1, or 0 when a create finds
 * the key taken, or -1 when an update finds the session gone (it is never brought back). KEYS[2], when given,
 * is the old key of a cycle: deleted in the same step, so it stops loading exactly when the new one starts.
 */
const SAVE = `
local key = KEYS[1]
local exists = redis.call('EXISTS', key) == 1
if ARGV[1] == 'create' then
  if exists then return 0 end
elseif not exists then
  return -1
end
local ttl = tonumber(ARGV[2])
if ARGV[3] == '1' or ttl <= 0 then redis.call('DEL', key) end
if KEYS[2] then redis.call('DEL', KEYS[2]) end
if ttl <= 0 then return 1 end
local first = 5 + tonumber(ARGV[4])
for i = 5, first - 1 do redis.call('HDEL', key, ARGV[i]) end
redis.call('HSET', key, '${RECORD_FIELD}', '')
for i = first, #ARGV, 2 do redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', key, ttl)
return 1`

function isClient(value: unknown): value is UpstashClient {
  return typeof (value as UpstashClient | undefined)?.eval === 'function'
}

function buildClient(options: UpstashEngineOptions): UpstashClient {
  const given = options.redis
  if (isClient(given)) {
    if (options.timeoutMs !== undefined) {
      throw new SessionConfigError(
        'timeoutMs',
        'only applies when edge-session builds the client. Set it on yours: new Redis({ url, token, signal: () => AbortSignal.timeout(ms) }).',
      )
    }
    for (const method of ['del', 'exists'] as const) {
      if (typeof given[method] !== 'function') throw new SessionConfigError('redis', `must be an @upstash/redis client: it has no ${method}().`)
    }
    return given
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new SessionConfigError('timeoutMs', 'must be a positive number of milliseconds.')
  if (given !== undefined && (typeof given?.url !== 'string' || typeof given.token !== 'string')) {
    throw new SessionConfigError('redis', 'must be an @upstash/redis client or { url, token } strings.')
  }
  const url = given?.url ?? env('UPSTASH_REDIS_REST_URL') ?? env('KV_REST_API_URL')
  const token = given?.token ?? env('UPSTASH_REDIS_REST_TOKEN') ?? env('KV_REST_API_TOKEN')
  if (!url || !token) {
    throw new SessionConfigError(
      'redis',
      'is missing. Pass upstashEngine({ redis: { url, token } }) or a Redis client, or set UPSTASH_REDIS_REST_URL and ' +
        'UPSTASH_REDIS_REST_TOKEN (or KV_REST_API_URL and KV_REST_API_TOKEN) from the Upstash console.',
    )
  }
  try {
    return new Redis({
      url,
      token,
      retry: RETRY,
      // The function form: a fresh signal per request, and a thrown TimeoutError rather than a made-up reply.
      signal: () => AbortSignal.timeout(timeoutMs),
      // The engine parses every reply itself and sends one command per operation.
      automaticDeserialization: false,
      enableAutoPipelining: false,
    })
  } catch (err) {
    throw new SessionConfigError('redis', `has an invalid url: ${(err as Error).message}`)
  }
}

/** The error's first line, without the request body @upstash/redis appends (it holds the session's data). */
function describe(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
  return text.split(', command was:')[0]!.slice(0, 300)
}

function saveArgs(write: SessionWrite, mode: 'create' | 'update', settings: SessionSettings): string[] {
  const replace = write.replace || mode === 'create'
  const deleted = replace ? [] : [...write.deleted]
  // Milliseconds, rounded up: a fractional age (asetExpiry(0.5)) must not round down to "already expired".
  const args = [mode, String(Math.ceil(write.expiryAge * 1000)), replace ? '1' : '0', String(deleted.length), ...deleted]
  for (const field of write.changed) args.push(field, settings.serializer.dumps(write.data.get(field), field))
  return args
}

/**
 * @example
 * ```ts
 * import { createSessionStore } from 'edge-session'
 * import { upstashEngine } from 'edge-session/upstash'
 * // Reads UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN.
 * export const sessions = createSessionStore({ engine: upstashEngine() })
 * ```
 *
 * Guarantees, each in one atomic script: a create never overwrites an existing session (`CreateError`, the core
 * retries on a fresh key); an update of a session deleted meanwhile fails (`SessionInterrupted` to the caller) and
 * writes nothing; `acycleKey()` creates the new record and deletes the old in the same step; concurrent requests
 * that change different keys of one session both keep their changes. Any failure to reach Upstash, a timeout, an
 * error status or a reply of the wrong shape throws `SessionStoreUnavailable`: never an empty session, never half a write.
 */
export function upstashEngine(options: UpstashEngineOptions = {}): EngineFactory {
  const prefix = options.prefix ?? DEFAULT_PREFIX
  if (typeof prefix !== 'string') throw new SessionConfigError('prefix', 'must be a string.')
  return (settings): SessionEngine => {
    const redis = buildClient(options)
    const redisKey = async (key: string): Promise<string> => prefix + (await sha256Hex(key))

    async function call(what: string, run: () => Promise<unknown>): Promise<unknown> {
      try {
        return await run()
      } catch (err) {
        throw new SessionStoreUnavailable(`Upstash failed to ${what} (${describe(err)})`, { cause: err })
      }
    }

    function unexpected(what: string, reply: unknown): SessionStoreUnavailable {
      // The shape only: the reply may hold session data, which has no place in a log line.
      const shape = Array.isArray(reply) ? `an array of ${reply.length}` : reply === null ? 'null' : typeof reply
      return new SessionStoreUnavailable(`Upstash answered ${what} with an unexpected reply (${shape})`)
    }

    async function save(keys: string[], write: SessionWrite, mode: 'create' | 'update'): Promise<void> {
      const args = saveArgs(write, mode, settings)
      const reply = await call('save a session', () => redis.eval(SAVE, keys, args))
      if (reply === 0) throw new CreateError()
      if (reply === -1) throw new UpdateError()
      if (reply !== 1) throw unexpected('a save', reply)
    }

    return {
      async load(key) {
        const reply = await call('load a session', async () => redis.eval(LOAD, [await redisKey(key)], []))
        if (reply === null) return null
        if (!Array.isArray(reply) || reply.length % 2 !== 0 || !reply.every((v) => typeof v === 'string' && v.startsWith(RAW))) {
          throw unexpected('a load', reply)
        }
        const entries: [string, unknown][] = []
        try {
          for (let i = 0; i < reply.length; i += 2) {
            const field = (reply[i] as string).slice(RAW.length)
            if (field !== RECORD_FIELD) entries.push([field, settings.serializer.loads((reply[i + 1] as string).slice(RAW.length))])
          }
        } catch {
          // A value the serializer cannot read is a malformed record: a fresh session, as for a bad cookie.
          return null
        }
        // fromEntries defines own properties: a "__proto__" field stays data.
        return Object.fromEntries(entries)
      },
      async save(key, write, { mustCreate }) {
        await save([await redisKey(key)], write, mustCreate ? 'create' : 'update')
        return key
      },
      async cycle(oldKey, newKey, write) {
        await save([await redisKey(newKey), await redisKey(oldKey)], write, 'create')
        return newKey
      },
      async delete(key) {
        const reply = await call('delete a session', async () => redis.del(await redisKey(key)))
        if (typeof reply !== 'number') throw unexpected('a delete', reply)
      },
      async exists(key) {
        const reply = await call('look up a session', async () => redis.exists(await redisKey(key)))
        if (typeof reply !== 'number') throw unexpected('an exists', reply)
        return reply > 0
      },
      // Redis expires every session by its TTL, set on each write.
      async clearExpired() {},
    }
  }
}

/**
 * The Upstash Redis engine: server-side sessions over Upstash's REST API, in Node and at the edge.
 * Sessions are revocable, can outgrow a cookie, and are shared by every region.
 *
 * Exported from `edge-session/upstash` (the only module that imports `@upstash/redis`, an optional peer).
 *
 * Storage: one Redis hash per session, under `prefix + sha256hex(sessionKey)` (a dump of the store
 * hands out no usable session key), one hash field per session key holding `<position>:<serialized value>`,
 * plus a `_record` field, so an empty session still exists, that counts positions given out. The position keeps
 * insertion order, which Redis loses once a value is over 64 bytes (the hash leaves its listpack encoding).
 * The TTL is set on every write from the expiry the record holds after it, so Redis expires sessions itself
 * (`clearExpired()` is a no-op), and a save never undoes a concurrent `asetExpiry`.
 *
 * A key that `newSessionKey()` cannot have made (not 32 characters of `[a-z0-9]`) is refused without a request:
 * a garbage or forged cookie costs nothing. (Signing the id in the cookie would also stop well-formed forgeries,
 * for an HMAC on every request that has a cookie: not done, see the README.)
 *
 * Round trips (HTTP requests to Upstash, asserted by test/upstash-engine.test.ts):
 * - reading a session: 1 (the first data access loads everything; later reads are free);
 * - saving, or creating a session: 1 (2 when a concurrent request changed the session's expiry meanwhile);
 * - login, `acycleKey()` on a session not read yet and then a write: 2 (a move that loads, the save); `acycleKey()`
 *   alone: 1 (the move restarts the expiry too, unless the session holds one of its own or an absolute lifetime
 *   runs: then the save that ends the request does). For a session bound to a user (`alogin`) the move costs 2: the
 *   first learns the user whose index entry must move in the same script. On a session read first: 3 (load, cycle
 *   with the data, save; 2 without a write after it); on a visitor with no session yet: 1 (a create), 2 with a write;
 * - logout, `aflush()`: 1 (it deletes without loading), the user's index entry included when the request has read
 *   the session or its cookie carries a fresh snapshot; 2 for a session bound to a user that neither names (the
 *   index keys must be named before the script runs, and only the record knows the user);
 * - a request that touches no session data, or carries a key that is not one of ours: 0.
 * Each operation is one `EVAL` (or a `DEL`), whatever the client's auto-pipelining setting. `EVAL`, not
 * `EVALSHA`: a NOSCRIPT fallback would make the first request after a Redis restart cost two.
 *
 * The client the engine builds (from `{ url, token }` or the environment) times out after `timeoutMs`, retries a
 * network error once after 50 ms (the client's default is 5 retries over ~4 s, during which an outage hangs every
 * request), and sends one command per request. A client you pass is used as it is: see `redis` below.
 *
 * @module
 */
// @upstash/redis's entry for this runtime, chosen by export conditions (package.json "imports"): on workerd and Deno
// its fetch-only Cloudflare entry, as the default one sends `cache: "no-store"` (workerd refuses it before the
// 2024-11-11 compatibility date) and reads process.env (Deno refuses that without --allow-env); elsewhere the
// default entry, whose "no-store" keeps Next's fetch cache away from session reads.
import { Redis } from '#upstash-redis'
import { KEY_CYCLED, KEY_CYCLED_SECONDS, type EngineFactory, type SessionEngine, type SessionWrite } from '../core/engine.js'
import { checkExpiryAge, EXPIRY_KEY, MAX_EXPIRY_AGE } from '../core/expiry.js'
import { isSessionKey } from '../core/keys.js'
import { env } from '../core/settings.js'
import { CreateError, SessionConfigError, SessionStoreUnavailable, UpdateError } from '../errors.js'
import { sha256Hex } from '../lib/crypto.js'
import { DEVICE_KEY, USER_ID_KEY, type UserIndexedEngine } from '../users/contract.js'
import { INDEX_LUA, INDEX_MOVE_LUA, redisUserIndex } from '../users/redis-index.js'

/** The client methods the engine uses: an `@upstash/redis` `Redis` from any of its entry points. */
export type UpstashClient = Pick<Redis, 'eval' | 'del'>

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
 * Marks the hash as a session even when it holds no data (Redis drops empty hashes), and holds the last position
 * given to a field. Keys starting with "_" belong to edge-session (Django behaviour 17), and none other is named
 * this, so no data collides.
 */
const RECORD_FIELD = '_record'
/** A stored field is `<position>:<value>`: the position orders the fields at load. */
const POSITIONED = /^(\d+):/
/** Saves retried when a concurrent `asetExpiry` changed the stored expiry under this one: one is the rare case. */
const EXPIRY_ATTEMPTS = 3
/** The least TTL a moved record gets: it must outlive the request whose end-of-request save restarts it. */
const MOVE_GRACE_MS = 60_000
/** Moves retried when the session's user binding changed between reading it and moving with its index. */
const MOVE_ATTEMPTS = 3
/**
 * What a key cycle leaves under the old session's key for `KEY_CYCLED_SECONDS`: a plain string, never a hash, so
 * no script reads it as a session. It holds no data and names no other key.
 */
const CYCLED = 'cycled'

/**
 * Prefixed to every string a script returns. No JSON starts with "~", so a client with
 * `automaticDeserialization` (the default) hands the strings back untouched instead of parsing them.
 */
const RAW = '~'

/** Lua that returns the session hash under `key` as LOAD and MOVE reply it: every field and value behind RAW. */
const returnRecord = (key: string): string => `
local flat = redis.call('HGETALL', ${key})
for i = 1, #flat do flat[i] = '${RAW}' .. flat[i] end
return flat`

// Every script names all its keys in KEYS, as Upstash's per-key locking requires.
const LOAD = `
local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'string' then return '${RAW}${CYCLED}' end
if kind ~= 'hash' then return false end${returnRecord('KEYS[1]')}`

/**
 * Save and cycle, Django's contract in one atomic step. KEYS[1] is the session; KEYS[2], for a cycle, the old
 * session, which must still exist and is replaced in the same step by the cycled key's marker, so it stops loading
 * exactly when the new one starts. ARGV: mode ("create" | "update"), TTL in ms, replace (0/1), expiry check (0/1), the expected stored
 * expiry ("" for none), the number of deleted fields, the deleted fields, then field/value pairs.
 *
 * Every check comes before the first write, so a refused save leaves Redis as it was. Returns 1 when written;
 * 0 when a create finds the key taken; -1 when an update finds the session gone, or a cycle its old session
 * (a logout won: the session is never brought back); and, when asked to check the expiry, RAW + the stored
 * expiry if it is not the expected one (a concurrent asetExpiry: the caller computes the TTL from it and retries).
 */
const SAVE = `
local key, old = KEYS[1], KEYS[2]
local mode, ttl, replace, ndeleted = ARGV[1], tonumber(ARGV[2]), ARGV[3] == '1', tonumber(ARGV[6])
if (mode ~= 'create' and mode ~= 'update') or not ttl or ttl % 1 ~= 0 or ttl > ${MAX_EXPIRY_AGE * 1000}
  or not ndeleted or ndeleted < 0 or (#ARGV - 6 - ndeleted) % 2 ~= 0 then
  return redis.error_reply('edge-session: malformed save arguments')
end
local kind = redis.call('TYPE', key).ok
if kind ~= 'none' and mode == 'create' then return 0 end
if kind ~= 'hash' and mode == 'update' then return -1 end
if old and redis.call('TYPE', old).ok ~= 'hash' then return -1 end
if ARGV[4] == '1' then
  local stored = redis.call('HGET', key, '${EXPIRY_KEY}')
  stored = stored and string.match(stored, '^%d+:(.*)$') or ''
  if stored ~= ARGV[5] then return '${RAW}' .. stored end
end
if old then redis.call('SET', old, '${CYCLED}', 'PX', ${KEY_CYCLED_SECONDS * 1000}) end
if replace or ttl <= 0 then redis.call('DEL', key) end
if ttl <= 0 then return 1 end
local first = 7 + ndeleted
for i = 7, first - 1 do redis.call('HDEL', key, ARGV[i]) end
redis.call('HSETNX', key, '${RECORD_FIELD}', '0')
for i = first, #ARGV, 2 do
  -- A field keeps its position when rewritten; a new one goes last.
  local current = redis.call('HGET', key, ARGV[i])
  local position = current and string.match(current, '^%d+') or redis.call('HINCRBY', key, '${RECORD_FIELD}', 1)
  redis.call('HSET', key, ARGV[i], position .. ':' .. ARGV[i + 1])
end
redis.call('PEXPIRE', key, ttl)
return 1`

/**
 * SAVE, and the per-user session index (src/users/redis-index.ts) in the same atomic step. ARGV starts with the
 * index block: its length (0 for a session bound to no user), then the session's index id, the old id of a cycle
 * ("" otherwise), now in ms and the device label; with a block, the last two KEYS are the user's index keys. Both
 * are taken off before SAVE runs, so it sees its own KEYS and ARGV. The entry expires with the record's own TTL.
 */
const SAVE_INDEXED = `${INDEX_LUA}
local n = tonumber(table.remove(ARGV, 1))
local index = {}
for i = 1, n do index[i] = table.remove(ARGV, 1) end
local index_keys = {}
if n > 0 then index_keys[2] = table.remove(KEYS) index_keys[1] = table.remove(KEYS) end
local function save()
${SAVE}
end
local result = save()
if result == 1 and n > 0 then
  local now = tonumber(index[3])
  if index[2] ~= '' then index_remove(index_keys[1], index_keys[2], index[2]) end
  local pttl = redis.call('PTTL', KEYS[1])
  index_put(index_keys[1], index_keys[2], index[1], 'upsert', pttl > 0 and now + pttl or now, now, index[4])
end
return result`

/**
 * `moveRecord`: a load and a cycle in one step, without the data making the trip back. KEYS: the new session, the
 * old one, then, for a session bound to a user, the user's index keys. ARGV: the TTL in ms to restart a record
 * holding no expiry of its own at ("" to keep its TTL, at least MOVE_GRACE_MS), the old record's user field as the
 * caller expects it ("" for none), then with index keys the new and old index ids and now in ms. Returns 0 when
 * the new key is taken, -1 when the old session is gone (nothing written), RAW + the stored user field when the
 * session is bound to a user other than the expected one (its index entry must move in the same step, and those
 * keys must be named up front: the caller retries with them), else the moved record as LOAD returns it.
 */
const MOVE = `${INDEX_LUA}${INDEX_MOVE_LUA}
local new, old = KEYS[1], KEYS[2]
local restart = tonumber(ARGV[1])
if restart and (restart % 1 ~= 0 or restart <= 0 or restart > ${MAX_EXPIRY_AGE * 1000}) then
  return redis.error_reply('edge-session: malformed move arguments')
end
if redis.call('EXISTS', new) == 1 then return 0 end
if redis.call('TYPE', old).ok ~= 'hash' then return -1 end
local user = redis.call('HGET', old, '${USER_ID_KEY}')
if user and user ~= ARGV[2] then return '${RAW}' .. user end
redis.call('RENAME', old, new)
redis.call('SET', old, '${CYCLED}', 'PX', ${KEY_CYCLED_SECONDS * 1000})
local pttl = redis.call('PTTL', new)
if restart and redis.call('HEXISTS', new, '${EXPIRY_KEY}') == 0 then
  pttl = restart
  redis.call('PEXPIRE', new, pttl)
elseif pttl >= 0 and pttl < ${MOVE_GRACE_MS} then
  pttl = ${MOVE_GRACE_MS}
  redis.call('PEXPIRE', new, pttl)
end
if user and KEYS[4] then
  local now = tonumber(ARGV[5])
  index_move(KEYS[3], KEYS[4], ARGV[4], ARGV[3], pttl > 0 and now + pttl or now, now)
end${returnRecord('new')}`

/**
 * Deletes a session. KEYS: the session, then the index keys of the user the caller expects it bound to (none when
 * it expects none). ARGV with index keys: that user id serialized, and the session's index id. When the record is
 * bound to that user, its index entry goes in the same step (0); bound to another, the script returns it (RAW +
 * the stored field) for the caller to end that entry in a second request.
 */
const DELETE = `${INDEX_LUA}
local user = redis.call('TYPE', KEYS[1]).ok == 'hash' and redis.call('HGET', KEYS[1], '${USER_ID_KEY}')
redis.call('DEL', KEYS[1])
if not user then return 0 end
if KEYS[3] and string.match(user, '^%d+:(.*)$') == ARGV[1] then
  index_remove(KEYS[2], KEYS[3], ARGV[2])
  return 0
end
return '${RAW}' .. user`

/** 1 for a session record, 0 for none (a cycled key's marker included). */
const EXISTS = `return redis.call('TYPE', KEYS[1]).ok == 'hash' and 1 or 0`

function isClient(value: unknown): value is UpstashClient {
  return typeof (value as UpstashClient | undefined)?.eval === 'function'
}

/** Also builds the revocation store's client (src/revocation/upstash.ts): one set of client rules for both. */
export function buildClient(options: UpstashEngineOptions): UpstashClient {
  const given = options.redis
  if (isClient(given)) {
    if (options.timeoutMs !== undefined) {
      throw new SessionConfigError(
        'timeoutMs',
        'only applies when edge-session builds the client. Set it on yours: new Redis({ url, token, signal: () => AbortSignal.timeout(ms) }).',
      )
    }
    if (typeof given.del !== 'function') throw new SessionConfigError('redis', 'must be an @upstash/redis client: it has no del().')
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

/** The message's first line, without the request body @upstash/redis appends (it holds the session's data). */
function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  return text.split(', command was:')[0]!.slice(0, 300)
}

/** The error's name and first line: all of it a log may show. */
export function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${firstLine(err)}` : firstLine(err)
}

/**
 * A copy of a client error fit to travel as a `cause`: name and first line, and the same of its own causes (a
 * refused connection's reason). The original stays behind: its message, and properties a logger prints whole
 * (`console.error` shows causes), carry the request, and with it the session's data.
 */
function scrubbed(err: unknown, depth = 0): Error {
  const inner = err instanceof Error && err.cause !== undefined && depth < 3 ? { cause: scrubbed(err.cause, depth + 1) } : undefined
  const copy = new Error(firstLine(err), inner)
  copy.name = err instanceof Error ? err.name : typeof err
  return copy
}

/** `SessionStoreUnavailable` for a failed request, with a cause that carries no session data. */
export function unavailable(what: string, err: unknown): SessionStoreUnavailable {
  return new SessionStoreUnavailable(`Upstash failed to ${what} (${describe(err)})`, { cause: scrubbed(err) })
}

function refuseForeignKey(key: string): void {
  // The core only saves keys it made; a record under any other could never load.
  if (!isSessionKey(key)) throw new TypeError('upstashEngine: a session key is 32 characters of [a-z0-9], as newSessionKey() makes them.')
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
 * writes nothing; `acycleKey()` creates (or moves) the new record and leaves the old key a marker without data in the
 * same step (README "Where we differ from Django", 22); concurrent requests that change different keys of one
 * session both keep their changes. Any failure to reach Upstash, a timeout, an
 * error status or a reply of the wrong shape throws `SessionStoreUnavailable`: never an empty session, never half a write.
 */
export function upstashEngine(options: UpstashEngineOptions = {}): EngineFactory {
  const prefix = options.prefix ?? DEFAULT_PREFIX
  if (typeof prefix !== 'string') throw new SessionConfigError('prefix', 'must be a string.')
  return (settings): UserIndexedEngine => {
    const redis = buildClient(options)
    const redisKey = async (key: string): Promise<string> => prefix + (await sha256Hex(key))
    // A session's index id is its record's name without the prefix: listing sessions hands out no usable key.
    const users = redisUserIndex((what, script, keys, args) => call(what, () => redis.eval(script, keys, args)), prefix, (id) => prefix + id)

    /** The index block of SAVE_INDEXED for a write: empty unless the session is bound to a user. */
    async function indexBlock(write: SessionWrite, key: string, oldKey: string | null): Promise<{ keys: string[]; args: string[] }> {
      const userId = write.data.get(USER_ID_KEY)
      if (typeof userId !== 'string') return { keys: [], args: [] }
      const label = write.data.get(DEVICE_KEY)
      const args = [await sha256Hex(key), oldKey === null ? '' : await sha256Hex(oldKey), String(Date.now()), typeof label === 'string' ? label : '']
      return { keys: await users.keys(userId), args }
    }

    async function call(what: string, run: () => Promise<unknown>): Promise<unknown> {
      try {
        return await run()
      } catch (err) {
        throw unavailable(what, err)
      }
    }

    function unexpected(what: string, reply: unknown): SessionStoreUnavailable {
      // The shape only: the reply may hold session data, which has no place in a log line.
      const shape = Array.isArray(reply) ? `an array of ${reply.length}` : reply === null ? 'null' : typeof reply
      return new SessionStoreUnavailable(`Upstash answered ${what} with an unexpected reply (${shape})`)
    }

    /** The age of a stored expiry as the script returns it ("" for none); unreadable means garbled, i.e. expired. */
    function ageOfStored(write: SessionWrite, text: string): number {
      if (text === '') return write.expiryAgeOf(undefined)
      try {
        return write.expiryAgeOf(settings.serializer.loads(text))
      } catch {
        return 0
      }
    }

    async function save(keys: string[], write: SessionWrite, mode: 'create' | 'update', index: { keys: string[]; args: string[] }): Promise<void> {
      const replace = write.replace || mode === 'create'
      const deleted = replace ? [] : [...write.deleted]
      // Serialized once, before any request: a value that fails leaves the store untouched. In `data`'s order.
      const pairs: string[] = []
      for (const [field, value] of write.data) if (write.changed.has(field)) pairs.push(field, settings.serializer.dumps(value, field))
      // A write that leaves the expiry alone checks that the stored one is still the one it computed the TTL from.
      const leavesExpiry = !replace && !write.changed.has(EXPIRY_KEY) && !write.deleted.has(EXPIRY_KEY)
      const current = write.data.get(EXPIRY_KEY)
      let expected = current === undefined ? '' : settings.serializer.dumps(current, EXPIRY_KEY)
      let age = write.expiryAge
      for (let attempt = 0; attempt < EXPIRY_ATTEMPTS; attempt++) {
        checkExpiryAge(age)
        // Milliseconds, rounded up: a fractional age (asetExpiry(0.5)) must not round down to "already expired".
        const head = [mode, String(Math.ceil(age * 1000)), replace ? '1' : '0', leavesExpiry ? '1' : '0', expected]
        const args = [...head, String(deleted.length), ...deleted, ...pairs]
        const reply = await call('save a session', () =>
          redis.eval(SAVE_INDEXED, [...keys, ...index.keys], [String(index.args.length), ...index.args, ...args]),
        )
        if (reply === 0) throw new CreateError()
        if (reply === -1) throw new UpdateError()
        if (reply === 1) return
        if (!leavesExpiry || typeof reply !== 'string' || !reply.startsWith(RAW)) throw unexpected('a save', reply)
        // A concurrent asetExpiry: the record lives by the expiry it holds, which this write does not change.
        expected = reply.slice(RAW.length)
        age = ageOfStored(write, expected)
      }
      throw new SessionStoreUnavailable(`the session's expiry changed under ${EXPIRY_ATTEMPTS} save attempts in a row`)
    }

    /** A stored field, `<position>:<serialized>`: its position and value; `null` when garbled (either part unreadable). */
    function storedField(stored: string): { position: number; value: unknown } | null {
      const position = POSITIONED.exec(stored)
      if (!position) return null
      try {
        return { position: Number(position[1]), value: settings.serializer.loads(stored.slice(position[0].length)) }
      } catch {
        return null
      }
    }

    /** A record as LOAD and MOVE return it: the session's data in insertion order, or `null` when malformed. */
    function record(what: string, reply: unknown): Record<string, unknown> | null {
      if (!Array.isArray(reply) || reply.length % 2 !== 0 || !reply.every((v) => typeof v === 'string' && v.startsWith(RAW))) {
        throw unexpected(what, reply)
      }
      const entries: [number, string, unknown][] = []
      for (let i = 0; i < reply.length; i += 2) {
        const field = (reply[i] as string).slice(RAW.length)
        if (field === RECORD_FIELD) continue
        const stored = storedField((reply[i + 1] as string).slice(RAW.length))
        // A value without its position, or one the serializer cannot read: a malformed record, a fresh session
        // as for a bad cookie.
        if (!stored) return null
        entries.push([stored.position, field, stored.value])
      }
      entries.sort((a, b) => a[0] - b[0])
      // fromEntries defines own properties: a "__proto__" field stays data.
      return Object.fromEntries(entries.map(([, field, value]) => [field, value]))
    }

    return {
      async load(key) {
        if (!isSessionKey(key)) return null
        const reply = await call('load a session', async () => redis.eval(LOAD, [await redisKey(key)], []))
        if (reply === RAW + CYCLED) return KEY_CYCLED
        return reply === null ? null : record('a load', reply)
      },
      async moveRecord(oldKey, newKey, restartAge) {
        refuseForeignKey(newKey)
        if (!isSessionKey(oldKey)) return null
        if (restartAge !== null) checkExpiryAge(restartAge)
        const keys = [await redisKey(newKey), await redisKey(oldKey)]
        const restart = restartAge === null ? '' : String(Math.ceil(restartAge * 1000))
        let index: { keys: string[]; args: string[] } = { keys: [], args: [''] }
        for (let attempt = 0; attempt < MOVE_ATTEMPTS; attempt++) {
          const reply = await call('move a session', () => redis.eval(MOVE, [...keys, ...index.keys], [restart, ...index.args]))
          if (reply === 0) throw new CreateError()
          if (reply === -1) return null
          if (Array.isArray(reply)) {
            const data = record('a move', reply)
            // Malformed, as at a load: the core starts afresh, and the record it cannot read goes rather than live on.
            if (data === null) await call('delete a session', () => redis.del(keys[0]!))
            return data
          }
          if (typeof reply !== 'string' || !reply.startsWith(RAW)) throw unexpected('a move', reply)
          // Bound to a user: the script needs the keys of the user's index to move the entry with the record.
          const field = reply.slice(RAW.length)
          const userId = storedField(field)?.value
          // A garbled user field names no index entry that could be found: the record moves alone.
          const userKeys = typeof userId === 'string' ? await users.keys(userId) : []
          const ids = userKeys.length > 0 ? [await sha256Hex(newKey), await sha256Hex(oldKey), String(Date.now())] : []
          index = { keys: userKeys, args: [field, ...ids] }
        }
        throw new SessionStoreUnavailable(`the session's user changed under ${MOVE_ATTEMPTS} move attempts in a row`)
      },
      async save(key, write, { mustCreate }) {
        if (!mustCreate && !isSessionKey(key)) throw new UpdateError()
        refuseForeignKey(key)
        await save([await redisKey(key)], write, mustCreate ? 'create' : 'update', await indexBlock(write, key, null))
        return key
      },
      async cycle(oldKey, newKey, write) {
        refuseForeignKey(newKey)
        if (!isSessionKey(oldKey)) throw new UpdateError()
        await save([await redisKey(newKey), await redisKey(oldKey)], write, 'create', await indexBlock(write, newKey, oldKey))
        return newKey
      },
      async delete(key, known) {
        if (!isSessionKey(key)) return
        // The user this request saw the session bound to: its index entry then goes in the same script.
        const expected = known?.get(USER_ID_KEY)
        const [keys, args] =
          typeof expected === 'string'
            ? [await users.keys(expected), [settings.serializer.dumps(expected, USER_ID_KEY), await sha256Hex(key)]]
            : [[], []]
        const reply = await call('delete a session', async () => redis.eval(DELETE, [await redisKey(key), ...keys], args))
        if (reply === 0) return
        if (typeof reply !== 'string' || !reply.startsWith(RAW) || !POSITIONED.test(reply.slice(RAW.length))) throw unexpected('a delete', reply)
        // Bound to a user this request did not know of (it had not read the session): a second request ends the entry.
        const userId = storedField(reply.slice(RAW.length))?.value
        // A garbled user field: the entry cannot be found, and expires with the session it named.
        if (typeof userId === 'string') await users.end(userId, { ids: [await sha256Hex(key)] })
      },
      async exists(key) {
        if (!isSessionKey(key)) return false
        const reply = await call('look up a session', async () => redis.eval(EXISTS, [await redisKey(key)], []))
        if (reply !== 0 && reply !== 1) throw unexpected('an exists', reply)
        return reply === 1
      },
      // Redis expires every session by its TTL, set on each write.
      async clearExpired() {},
      users: {
        sessionId: async (key) => (isSessionKey(key) ? sha256Hex(key) : null),
        list: (userId) => users.list(userId),
        end: (userId, which) => users.end(userId, which),
      },
    }
  }
}

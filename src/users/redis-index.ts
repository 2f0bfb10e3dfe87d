/**
 * The per-user session index in Redis, shared by the Upstash engine (whose save, cycle, move and delete scripts call
 * the Lua functions below in the same atomic step) and the cookie engine's revocation store.
 *
 * Per user, two keys named from `sha256(userId)` (so no user id appears in a key name):
 * - `…u:<hash>`: a sorted set, session id → expiry in ms. A session is live while its score is in the future.
 * - `…u:<hash>:m`: a hash, session id → `{"c": created ms, "s": last save ms, "l": label}`.
 * Every script that writes prunes entries whose expiry has passed and sets both keys to expire with the last
 * session, so the index never outgrows a user's live sessions and nothing needs a sweeper. Each session's entry is
 * its own field, written whole by that session's save: no read-modify-write of a shared blob.
 *
 * @module
 */
import { KEY_CYCLED_SECONDS } from '../core/engine.js'
import { SessionStoreUnavailable } from '../errors.js'
import { sha256Hex } from '../lib/crypto.js'
import type { EndWhich, UserSessionEntry } from './contract.js'

/** Runs one `EVAL`; throws `SessionStoreUnavailable` when the store cannot answer. */
export type RunScript = (what: string, script: string, keys: string[], args: string[]) => Promise<unknown>

/** No JSON starts with "~": a client that deserializes replies hands these strings back untouched. */
const RAW = '~'

/**
 * Lua used by every index script. `now` and `expires` are ms since the epoch, passed by the caller so the index
 * and the cookie's own expiry check read the same clock.
 */
export const INDEX_LUA = `
local function index_expire(idx, meta)
  local last = redis.call('ZRANGE', idx, -1, -1, 'WITHSCORES')
  if #last == 0 then redis.call('DEL', idx, meta) return end
  local at = string.format('%d', tonumber(last[2]))
  redis.call('PEXPIREAT', idx, at)
  redis.call('PEXPIREAT', meta, at)
end
local function index_prune(idx, meta, now)
  local gone = redis.call('ZRANGEBYSCORE', idx, '-inf', now)
  for _, id in ipairs(gone) do redis.call('HDEL', meta, id) end
  if #gone > 0 then redis.call('ZREMRANGEBYSCORE', idx, '-inf', now) end
end
-- mode 'create': 0 if the id is live already; 'update': -1 if it was ended (never brought back); 'upsert': either.
local function index_put(idx, meta, id, mode, expires, now, label)
  index_prune(idx, meta, now)
  local had = redis.call('ZSCORE', idx, id)
  if mode == 'create' and had then return 0 end
  if mode == 'update' and not had then return -1 end
  local created = now
  if had then
    local ok, old = pcall(cjson.decode, redis.call('HGET', meta, id) or '')
    if ok and type(old) == 'table' and type(old.c) == 'number' then created = old.c end
  end
  if expires <= now then
    redis.call('ZREM', idx, id)
    redis.call('HDEL', meta, id)
  else
    local entry = { c = created, s = now }
    if label ~= '' then entry.l = label end
    redis.call('ZADD', idx, expires, id)
    redis.call('HSET', meta, id, cjson.encode(entry))
  end
  index_expire(idx, meta)
  return 1
end
local function index_remove(idx, meta, id)
  redis.call('ZREM', idx, id)
  redis.call('HDEL', meta, id)
  index_expire(idx, meta)
end
`

/** After INDEX_LUA, for the Upstash engine's move (a key cycle done in the store). */
export const INDEX_MOVE_LUA = `
-- The entry moves to the new id with its label, as a save of the new key writes it.
local function index_move(idx, meta, from, to, expires, now)
  local ok, entry = pcall(cjson.decode, redis.call('HGET', meta, from) or '')
  index_remove(idx, meta, from)
  local label = ok and type(entry) == 'table' and type(entry.l) == 'string' and entry.l or ''
  index_put(idx, meta, to, 'upsert', expires, now, label)
end
`

/**
 * KEYS: index, meta, the id's cycled marker. ARGV: id, now. 1 while the session is live, 2 when a key cycle
 * replaced it lately (CYCLED), else 0. Read-only: the one request a signed-in cookie costs.
 */
const LIVE = `
local expires = redis.call('ZSCORE', KEYS[1], ARGV[1])
if expires and tonumber(expires) > tonumber(ARGV[2]) then return 1 end
if redis.call('EXISTS', KEYS[3]) == 1 then return 2 end
return 0`

/**
 * KEYS: index, meta, the id's cycled marker. ARGV: id, now. Ends a session that a key cycle replaced and marks it
 * for KEY_CYCLED_SECONDS, in one step; -1, writing nothing, when it was not live (a logout won the race).
 */
const END_CYCLED = `${INDEX_LUA}
index_prune(KEYS[1], KEYS[2], tonumber(ARGV[2]))
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return -1 end
index_remove(KEYS[1], KEYS[2], ARGV[1])
redis.call('SET', KEYS[3], '1', 'PX', ${KEY_CYCLED_SECONDS * 1000})
return 1`

/** KEYS: index, meta. ARGV: id, mode, expires, now, label. */
const PUT = `${INDEX_LUA}
return index_put(KEYS[1], KEYS[2], ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5])`

/** KEYS: index, meta. ARGV: now. Prunes, then returns id, expiry, entry for each live session. */
const LIST = `${INDEX_LUA}
index_prune(KEYS[1], KEYS[2], tonumber(ARGV[1]))
index_expire(KEYS[1], KEYS[2])
local flat = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local out = {}
for i = 1, #flat, 2 do
  out[#out + 1] = '${RAW}' .. flat[i]
  out[#out + 1] = '${RAW}' .. flat[i + 1]
  out[#out + 1] = '${RAW}' .. (redis.call('HGET', KEYS[2], flat[i]) or '{}')
end
return out`

/** KEYS: index. The ids it holds, to name their records in END's KEYS. */
const MEMBERS = `
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
for i = 1, #ids do ids[i] = '${RAW}' .. ids[i] end
return ids`

/**
 * KEYS: index, meta, then (engines with server-side records) the record key of each id in ARGV, in order.
 * ARGV: 'ids' | 'all', the id to keep ('' for none), '1' when records are named (even none), then ids. Only ids in this user's index are ended, so one
 * user cannot end another's session by guessing its id. With records, 'all' is a compare-and-delete: if the index
 * no longer holds exactly the ids the caller read (a login landed meanwhile), it returns 0 and the caller retries.
 */
const END = `${INDEX_LUA}
local idx, meta, keep = KEYS[1], KEYS[2], ARGV[2]
local records = ARGV[3] == '1'
local ids = {}
for i = 4, #ARGV do ids[#ids + 1] = ARGV[i] end
if ARGV[1] == 'all' then
  local current = redis.call('ZRANGE', idx, 0, -1)
  if records then
    if #current ~= #ids then return 0 end
    local seen = {}
    for _, id in ipairs(ids) do seen[id] = true end
    for _, id in ipairs(current) do if not seen[id] then return 0 end end
  else
    ids = current
  end
end
for i, id in ipairs(ids) do
  if id ~= keep and redis.call('ZSCORE', idx, id) then
    if records then redis.call('DEL', KEYS[2 + i]) end
    redis.call('ZREM', idx, id)
    redis.call('HDEL', meta, id)
  end
end
index_expire(idx, meta)
return 1`

/** A compare-and-delete that keeps losing to new logins is given up on after this many reads. */
const END_ALL_ATTEMPTS = 10

function raw(value: unknown): string | null {
  return typeof value === 'string' && value.startsWith(RAW) ? value.slice(RAW.length) : null
}

function unexpected(what: string, reply: unknown): SessionStoreUnavailable {
  // The shape only: a reply may hold user data, which has no place in a log line.
  const shape = Array.isArray(reply) ? `an array of ${reply.length}` : reply === null ? 'null' : typeof reply
  return new SessionStoreUnavailable(`the user session index answered ${what} with an unexpected reply (${shape})`)
}

export interface RedisUserIndex {
  /** The two keys of `userId`'s index. */
  keys(userId: string): Promise<[index: string, meta: string]>
  /** `'cycled'`: not live, ended lately by `endCycled`. */
  isLive(userId: string, id: string, now: number): Promise<boolean | 'cycled'>
  /** Ends `id` as replaced by a key cycle (see LIVE). `false`, ending nothing, when it was not live. */
  endCycled(userId: string, id: string, now: number): Promise<boolean>
  /** Records a save. Returns 1, 0 (create: id taken) or -1 (update: the session was ended). */
  put(userId: string, id: string, mode: 'create' | 'update', expires: number, now: number, label: string | null): Promise<number>
  list(userId: string): Promise<UserSessionEntry[]>
  end(userId: string, which: EndWhich): Promise<void>
}

/**
 * @param prefix prepended to the index keys.
 * @param recordKey for engines whose sessions are Redis records: the record's key for an index id, deleted
 *   when its session is ended, in the same script that removes the entry.
 */
export function redisUserIndex(run: RunScript, prefix: string, recordKey?: (id: string) => string): RedisUserIndex {
  const keys = async (userId: string): Promise<[string, string]> => {
    const base = `${prefix}u:${await sha256Hex(userId)}`
    return [base, `${base}:m`]
  }
  /** The marker of a session a key cycle replaced: named from the id, which is random, not from the user. */
  const cycledKey = (id: string): string => `${prefix}c:${id}`
  const endScript = async (userId: string, mode: 'ids' | 'all', keep: string | null, ids: readonly string[]): Promise<unknown> => {
    const records = recordKey ? ids.map(recordKey) : []
    return run('end sessions', END, [...(await keys(userId)), ...records], [mode, keep ?? '', recordKey ? '1' : '0', ...ids])
  }
  return {
    keys,
    async isLive(userId, id, now) {
      const reply = await run('check a session', LIVE, [...(await keys(userId)), cycledKey(id)], [id, String(now)])
      if (reply !== 0 && reply !== 1 && reply !== 2) throw unexpected('a check', reply)
      return reply === 2 ? 'cycled' : reply === 1
    },
    async endCycled(userId, id, now) {
      const reply = await run('end a cycled session', END_CYCLED, [...(await keys(userId)), cycledKey(id)], [id, String(now)])
      if (reply !== 1 && reply !== -1) throw unexpected('an end', reply)
      return reply === 1
    },
    async put(userId, id, mode, expires, now, label) {
      const reply = await run('index a session', PUT, await keys(userId), [id, mode, String(Math.floor(expires)), String(now), label ?? ''])
      if (reply !== 1 && reply !== 0 && reply !== -1) throw unexpected('an index write', reply)
      return reply
    },
    async list(userId) {
      const reply = await run('list sessions', LIST, await keys(userId), [String(Date.now())])
      const fields = Array.isArray(reply) ? reply.map(raw) : null
      if (!fields || fields.length % 3 !== 0 || fields.some((f) => f === null)) throw unexpected('a list', reply)
      const entries: UserSessionEntry[] = []
      for (let i = 0; i < fields.length; i += 3) {
        let meta: { c?: unknown; s?: unknown; l?: unknown } = {}
        try {
          meta = JSON.parse(fields[i + 2]!) as typeof meta
        } catch {
          // A garbled entry still lists (and can be ended); only its details are unknown.
        }
        const expires = Number(fields[i + 1])
        entries.push({
          id: fields[i]!,
          created: new Date(typeof meta.c === 'number' ? meta.c : expires),
          lastSeen: new Date(typeof meta.s === 'number' ? meta.s : expires),
          expires: new Date(expires),
          label: typeof meta.l === 'string' ? meta.l : null,
        })
      }
      return entries.sort((a, b) => a.created.getTime() - b.created.getTime())
    },
    async end(userId, which) {
      if ('ids' in which) {
        if (which.ids.length === 0) return
        const reply = await endScript(userId, 'ids', null, which.ids)
        if (reply !== 1) throw unexpected('an end', reply)
        return
      }
      if (!recordKey) {
        const reply = await endScript(userId, 'all', which.allExcept, [])
        if (reply !== 1) throw unexpected('an end', reply)
        return
      }
      for (let attempt = 0; attempt < END_ALL_ATTEMPTS; attempt++) {
        const [index] = await keys(userId)
        const members = await run('list sessions', MEMBERS, [index], [])
        const ids = Array.isArray(members) ? members.map(raw) : null
        if (!ids || ids.some((id) => id === null)) throw unexpected('a members read', members)
        const reply = await endScript(userId, 'all', which.allExcept, ids as string[])
        if (reply === 1) return
        if (reply !== 0) throw unexpected('an end', reply)
      }
      throw new SessionStoreUnavailable(`ending every session of a user lost ${END_ALL_ATTEMPTS} times in a row to new logins`)
    },
  }
}

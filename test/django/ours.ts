/**
 * The TypeScript side of the Django differential test: runs a sequence (test/django/protocol.ts)
 * on one of our engines through the public API (`store.open`, the `a*` methods, `commitSession`)
 * and reports the same observations test/django/driver.py reports for Django.
 */
import { commitSession, createSessionStore, type Expiry, type Session, type SessionEngine, type SessionStore } from '../../src/index.js'
import {
  SessionInterrupted,
  SessionKeyError,
  SessionReservedKeyError,
  SessionSerializationError,
  UpdateError,
} from '../../src/errors.js'
import { asciiJson, canon, type Config, type ExpiryArg, type Observation, type Sequence, type Step } from './protocol.js'

export const SECRET = 'differential-test secret: at least thirty-two bytes'

/** One sequence's store, and what "time passes" means for it. */
export interface World {
  /** The store the sequence runs on; its loads are counted. */
  store: SessionStore
  /** Called after every step (Upstash: takes the records' TTLs off Redis's real clock). */
  settle(): Promise<void>
  /** The frozen clock moved by `ms` (Upstash: the records' TTLs move with it). */
  advance(ms: number): Promise<void>
  dispose(): Promise<void>
}

/** An engine under test: the Django engine it is compared with, and a fresh world per sequence. */
export interface Target {
  name: string
  django: Sequence['engine']
  /** Whether the handle's key is compared by identity (server-side keys) or only by presence (signed cookies). */
  serverSide: boolean
  /** Why a load found nothing, when the engine can tell (the cookie engines: "expired" or "invalid"). */
  whyMissed?(key: string, now: number, config: Config): string | Promise<string>
  world(config: Config, onMiss: (key: string) => Promise<void>): Promise<World>
}

/**
 * The engine with its loads counted, as driver.py counts Django's. A proxy, so whatever else the engine
 * declares (`cycle`, `keyHoldsData`, what comes next) reaches the core unchanged.
 */
export function counting(engine: SessionEngine, onMiss: (key: string) => Promise<void>): SessionEngine {
  const load: SessionEngine['load'] = async (key) => {
    const record = await engine.load(key)
    if (record === null) await onMiss(key)
    return record
  }
  // acycleKey() of a session not loaded yet loads it by moving it (src/core/engine.ts): a gone record is a miss too.
  const moveRecord: SessionEngine['moveRecord'] = engine.moveRecord && (async (oldKey, newKey, restartAge) => {
    const record = await engine.moveRecord!(oldKey, newKey, restartAge)
    if (record === null) await onMiss(oldKey)
    return record
  })
  const counted: Partial<Record<PropertyKey, unknown>> = { load, moveRecord }
  return new Proxy(engine, { get: (target, name, receiver) => (name in counted ? counted[name] : Reflect.get(target, name, receiver)) })
}

/** The options both sides run with: the sequence's settings, everything else at Django's defaults. */
export function storeOptions(config: Config): Parameters<typeof createSessionStore>[0] {
  return {
    secret: SECRET,
    cookieAge: config.cookieAge,
    expireAtBrowserClose: config.expireAtBrowserClose,
    saveEveryRequest: config.saveEveryRequest,
    cookieSecure: false,
  }
}

function errorName(err: unknown): string {
  if (err instanceof SessionKeyError) return '!KeyError'
  if (err instanceof SessionInterrupted || err instanceof UpdateError) return '!Interrupted'
  if (err instanceof SessionReservedKeyError) return '!Reserved'
  if (err instanceof SessionSerializationError) return '!Unserializable'
  if (err instanceof Error) return `!${err.name}`
  return `!${typeof err}`
}

function expiryValue(arg: ExpiryArg, now: number): Expiry | string {
  switch (arg.kind) {
    case 'seconds':
      return arg.n
    case 'date':
      return new Date(now + arg.offsetMs)
    case 'zero':
      return 0
    case 'null':
      return null
    case 'garbage':
      return 'garbage'
  }
}

/** Canonical text of an object given as entries, so JavaScript's own key order cannot creep in. */
function canonEntries(entries: [string, unknown][]): string {
  return `{${entries.map(([k, v]) => `${asciiJson(k)}:${canon(v)}`).join(',')}}`
}

/** Operations without arguments, and the session method each one is: answered with their result… */
const QUERIES = {
  keys: 'akeys',
  values: 'avalues',
  items: 'aitems',
  isEmpty: 'aisEmpty',
  getExpireAtBrowserClose: 'agetExpireAtBrowserClose',
  testCookieWorked: 'atestCookieWorked',
} as const
/** …or with "ok". */
const ACTIONS = {
  clear: 'aclear',
  flush: 'aflush',
  cycle: 'acycleKey',
  save: 'asave',
  setTestCookie: 'asetTestCookie',
  deleteTestCookie: 'adeleteTestCookie',
} as const

interface Handle {
  session: Session
  hadCookie: boolean
}

/** Runs `seq` on `target`; `setClock` sets the frozen clock (vitest's fake Date). */
export async function runOurs(seq: Sequence, target: Target, setClock: (ms: number) => void): Promise<Observation[]> {
  let now = seq.start
  setClock(now)
  let misses = 0
  let why: string | undefined
  const world = await target.world(seq.config, async (key) => {
    misses++
    why = await target.whyMissed?.(key, now, seq.config)
  })
  const { store } = world
  let cookie: string | null = null
  const handles = new Map<number, Handle>()
  const keyIds = new Map<string, number>()
  const keyId = (key: string | null): number | null => {
    if (!key) return null
    if (!keyIds.has(key)) keyIds.set(key, keyIds.size)
    return keyIds.get(key)!
  }

  async function step(s: Step): Promise<string> {
    switch (s.op) {
      case 'advance':
        now += s.ms
        setClock(now)
        await world.advance(s.ms)
        return 'ok'
      case 'open':
        handles.set(s.h, { session: store.open(cookie), hadCookie: cookie !== null })
        return 'ok'
      case 'peek': {
        const session = store.open(cookie)
        return `${canonEntries(await session.aitems())} age=${canon(await session.agetExpiryAge())}`
      }
    }
    const handle = handles.get(s.h)
    if (!handle) return '!NoHandle'
    const session = handle.session
    switch (s.op) {
      case 'commit': {
        const { cookie: set, vary } = await commitSession(session, { hadCookie: handle.hadCookie, status: s.status ?? 200 })
        if (set === null) return `none vary=${vary}`
        if (set.value === '' && set.maxAge === 0) {
          cookie = null
          return `delete vary=${vary}`
        }
        cookie = set.value
        const key = target.serverSide ? keyId(set.value) : 'set'
        const expires = set.expires ? Math.floor(set.expires.getTime() / 1000) : 'None'
        return `set key=${key} maxAge=${set.maxAge ?? 'None'} expires=${expires} vary=${vary}`
      }
      case 'get':
        return canon(s.default === undefined ? await session.aget(s.key) : await session.aget(s.key, JSON.parse(s.default)))
      case 'set':
        await session.aset(s.key, JSON.parse(s.value))
        return 'ok'
      case 'del':
        await session.adelete(s.key)
        return 'ok'
      case 'has':
        return canon(await session.ahas(s.key))
      case 'pop':
        return canon(s.default === undefined ? await session.apop(s.key) : await session.apop(s.key, JSON.parse(s.default)))
      case 'setdefault':
        return canon(await session.asetdefault(s.key, JSON.parse(s.value)))
      case 'update':
        await session.aupdate(JSON.parse(s.value) as Record<string, unknown>)
        return 'ok'
      case 'mutate': {
        // In place, as a Django view does with request.session['cart'].append(x).
        const target_ = await session.aget(s.key)
        const value: unknown = JSON.parse(s.value)
        if (Array.isArray(target_)) {
          target_.push(value)
          return 'appended'
        }
        if (typeof target_ === 'object' && target_ !== null) {
          ;(target_ as Record<string, unknown>)[s.field] = value
          return 'assigned'
        }
        return 'skipped'
      }
      case 'markModified':
        session.modified = true
        return 'ok'
      case 'setExpiry':
        await session.asetExpiry(expiryValue(s.expiry, now) as Expiry)
        return 'ok'
      case 'getExpiryAge':
      case 'getExpiryDate': {
        const options = {
          ...(s.expiry ? { expiry: expiryValue(s.expiry, now) } : {}),
          ...(s.modificationOffsetMs !== undefined ? { modification: new Date(now + s.modificationOffsetMs) } : {}),
        }
        return canon(s.op === 'getExpiryAge' ? await session.agetExpiryAge(options) : await session.agetExpiryDate(options))
      }
      default:
        if (s.op in QUERIES) return canon(await session[QUERIES[s.op as keyof typeof QUERIES]]())
        await session[ACTIONS[s.op as keyof typeof ACTIONS]]()
        return 'ok'
    }
  }

  const trace: Observation[] = []
  try {
    for (const s of seq.steps) {
      let result: string
      try {
        result = await step(s)
      } catch (err) {
        result = errorName(err)
      }
      await world.settle()
      const observation: Observation = { r: result, miss: misses, ...(why ? { why } : {}) }
      misses = 0
      why = undefined
      const handle = 'h' in s ? handles.get(s.h) : undefined
      if (handle) {
        observation.m = handle.session.modified
        observation.a = handle.session.accessed
        observation.k = target.serverSide ? keyId(handle.session.sessionKey) : handle.session.sessionKey ? 'set' : null
      }
      trace.push(observation)
    }
  } finally {
    await world.dispose()
  }
  return trace
}

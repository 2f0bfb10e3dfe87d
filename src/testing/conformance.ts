import { commitSession } from '../core/http.js'
import { newSessionKey } from '../core/keys.js'
import { Session, type SessionData } from '../core/session.js'
import type { SessionEngine, SessionWrite } from '../core/engine.js'
import type { SessionOptions } from '../core/settings.js'
import { CreateError, SessionExpiryTooLong, SessionInterrupted, SessionKeyError, SessionSerializationError, UpdateError } from '../errors.js'
import type { SessionStore } from '../store.js'

/** The assertions the suite uses: a subset of vitest's and Jest's `expect`, so either can be passed as is. */
export interface ConformanceAssertion {
  toBe(expected: unknown): void
  toEqual(expected: unknown): void
  toBeInstanceOf(expected: abstract new (...args: never[]) => unknown): void
  toMatch(expected: RegExp): void
  toBeNull(): void
  toBeUndefined(): void
  toContain(expected: unknown): void
  readonly not: ConformanceAssertion
}

export type ConformanceExpect = (actual: unknown) => ConformanceAssertion

/** A test registrar such as vitest's or Jest's `it`; `skip` is used for tests that do not apply to the engine. */
export interface ConformanceIt {
  (name: string, fn: () => Promise<void>, timeout?: number): void
  skip?: (name: string, fn: () => Promise<void>) => void
}

/** What the engine under test can do. Tests that need a capability the engine lacks are registered as skipped. */
export interface ConformanceCapabilities {
  /**
   * Records live on the server under a random key: `exists()` answers, `delete()` revokes, a create can collide,
   * an update of a deleted record fails. `false` for the cookie engine, whose "key" is the signed data itself.
   */
  serverSide: boolean
  /**
   * Two requests that load the same session and save different keys both keep their writes (the engine writes only
   * what changed), and the record expires by the `_session_expiry` it holds after a merge (`SessionWrite.expiryAgeOf`).
   */
  mergesConcurrentWrites: boolean
}

/** Every test the suite defines, by id. Ids are stable: use them as keys of `skip`. */
export const conformanceTests = [
  'new-session',
  'get-default',
  'set-pop',
  'pop-default',
  'setdefault',
  'update',
  'has',
  'keys-values-items',
  'key-order-long-values',
  'clear',
  'save-load',
  'empty-session-saved',
  'json-values',
  'json-keys',
  'not-serializable',
  'nested-mutation',
  'nested-change-saved',
  'proto-keys',
  'unknown-key',
  'short-key',
  'key-format',
  'exists',
  'load-never-throws',
  'delete-missing',
  'must-create',
  'must-create-retry',
  'update-missing',
  'interrupted',
  'save-unread-gone',
  'save-sets-modified',
  'save-refreshes-expiry',
  'deleted-before-load',
  'flush',
  'cycle-key',
  'cycle-key-unloaded',
  'cycle-key-new',
  'cycle-after-logout',
  'cycle-unloaded-after-logout',
  'cycle-unloaded-save',
  'cycle-race-read',
  'cycle-race-write',
  'cycle-race-new-start',
  'expiry-negative',
  'expiry-browser-close',
  'expiry-real-time',
  'expiry-too-long',
  'expiry-follows-store',
  'concurrent-writes',
  'concurrent-nested-writes',
  'clear-expired',
] as const

export type ConformanceTestId = (typeof conformanceTests)[number]

export interface ConformanceOptions {
  /** Shown in the suite's title. */
  name: string
  /**
   * A store on a fresh, empty engine, made with `options` (which include a test `secret`); called once per test.
   * Pass the options to `createSessionStore` along with your engine.
   */
  makeStore: (options: SessionOptions) => SessionStore | Promise<SessionStore>
  describe: (name: string, fn: () => void) => void
  it: ConformanceIt
  expect: ConformanceExpect
  capabilities: ConformanceCapabilities
  /**
   * Known gaps, Django's `expectedFailure`: test id → why the engine cannot pass it. A listed test still runs and
   * must fail; once it passes, it fails with a message asking you to remove the entry, so gaps never go stale.
   */
  skip?: Partial<Record<ConformanceTestId, string>>
}

/** 32 bytes: the shortest secret the settings accept. The suite never leaves the process, so a fixed one is fine. */
const TEST_SECRET = 'edge-session conformance secret!'
/** Real-time expiry needs a wait longer than one whole second of store resolution (Redis TTLs, the cookie's `exp`). */
const EXPIRY_WAIT_MS = 2100
/** Browsers keep a cookie at most 400 days (RFC 6265bis): the longest expiry a session may have. */
const MAX_EXPIRY_SECONDS = 400 * 24 * 60 * 60
/** Longer than 64 bytes: Redis keeps small hashes as listpacks, which happen to keep order, and converts larger ones. */
const LONG = 'a value longer than sixty-four bytes, so stores change representation: '.padEnd(100, '.')

function write(entries: Record<string, unknown>, expiryAge = 60): SessionWrite {
  const data = new Map(Object.entries(entries))
  return { data, changed: new Set(data.keys()), deleted: new Set(), replace: true, expiryAge, expiryAgeOf: () => expiryAge }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (err) {
    return err
  }
  throw new Error('Expected the call to throw, but it resolved.')
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Registers the engine conformance suite: Django's `SessionTestsMixin` and store contract
 * (catalogue §2.1–2.9, §3), run through the public `Session` API against a store you build.
 * The test runner is injected, so this module imports none.
 *
 * Exported from `edge-session/testing`.
 *
 * @example
 * ```ts
 * // test/my-engine.test.ts
 * import { describe, it, expect } from 'vitest'
 * import { createSessionStore } from 'edge-session'
 * import { runEngineConformance } from 'edge-session/testing'
 *
 * runEngineConformance({
 *   name: 'my engine',
 *   makeStore: (options) => createSessionStore({ ...options, engine: myEngine() }),
 *   describe, it, expect,
 *   capabilities: { serverSide: true, mergesConcurrentWrites: false },
 *   skip: { 'keys-values-items': 'the store returns fields unordered' },
 * })
 * ```
 */
export function runEngineConformance(options: ConformanceOptions): void {
  const { describe, it, expect, capabilities } = options
  const skip: Partial<Record<string, string>> = options.skip ?? {}
  const open = async (extra: SessionOptions = {}): Promise<SessionStore> => options.makeStore({ secret: TEST_SECRET, ...extra })

  for (const id of Object.keys(skip)) {
    if (!(conformanceTests as readonly string[]).includes(id)) {
      throw new Error(`runEngineConformance: skip lists "${id}", which is not a test id. Known ids: ${conformanceTests.join(', ')}.`)
    }
  }

  /** `needs`: the capability the test requires; without it the test is registered as skipped, saying why. */
  const test = (id: ConformanceTestId, title: string, fn: () => Promise<void>, needs?: keyof ConformanceCapabilities, timeout?: number) => {
    const name = `${id}: ${title}`
    if (needs && !capabilities[needs]) {
      it.skip?.(`${name} (not applicable: ${needs} is false)`, fn)
      return
    }
    const reason = skip[id]
    if (reason === undefined) {
      it(name, fn, timeout)
      return
    }
    it(
      `${name} (known gap: ${reason})`,
      async () => {
        const failed = await fn().then(
          () => false,
          () => true,
        )
        if (!failed) throw new Error(`"${id}" is listed in skip ("${reason}") but passes now: remove it from skip.`)
      },
      timeout,
    )
  }

  /** A saved session holding `data`, and its key. */
  const saved = async (store: SessionStore, data: SessionData) => {
    const session = store.open()
    await session.aupdate(data)
    await session.asave()
    const key = session.sessionKey
    expect(typeof key).toBe('string')
    return { session, key: key as string }
  }

  describe(`engine conformance: ${options.name}`, () => {
    // ---- §2.1 dict API and §2.2 flags ----------------------------------------------------------

    test('new-session', 'a new session is unmodified, unaccessed, keyless and empty (Django test_new_session)', async () => {
      const session = (await open()).open()
      expect(session.modified).toBe(false)
      expect(session.accessed).toBe(false)
      expect(session.sessionKey).toBeNull()
      expect(await session.aisEmpty()).toBe(true)
    })

    test('get-default', 'aget of a missing key gives undefined, or the default (test_get_empty)', async () => {
      const session = (await open()).open()
      expect(await session.aget('cat')).toBeUndefined()
      expect(await session.aget('cat', 'd')).toBe('d')
      expect(session.accessed).toBe(true)
      expect(session.modified).toBe(false)
    })

    test('set-pop', 'aset then apop returns the value and removes the key (test_store, test_pop)', async () => {
      const session = (await open()).open()
      await session.aset('cat', 'dog')
      expect(session.modified).toBe(true)
      expect(await session.aget('cat')).toBe('dog')
      expect(await session.apop('cat')).toBe('dog')
      expect(await session.aget('cat')).toBeUndefined()
      expect(session.accessed).toBe(true)
    })

    test('pop-default', 'apop of a missing key gives the default without modifying; no default is a SessionKeyError', async () => {
      const store = await open()
      const { key } = await saved(store, { x: 1 })
      const session = store.open(key)
      expect(await session.apop('missing', 'does not exist')).toBe('does not exist')
      // An explicit undefined is still a default (Django's sentinel, behaviour 8).
      expect(await session.apop('missing', undefined)).toBeUndefined()
      expect(session.accessed).toBe(true)
      expect(session.modified).toBe(false)
      const err = await rejection(session.apop('missing'))
      expect(err).toBeInstanceOf(SessionKeyError)
      expect((err as SessionKeyError).code).toBe('ERR_SESSION_KEY_MISSING')
      expect(session.modified).toBe(false)
      expect(await session.apop('x')).toBe(1)
      expect(session.modified).toBe(true)
    })

    test('setdefault', 'asetdefault stores once and then returns the stored value (test_setdefault)', async () => {
      const store = await open()
      const { key } = await saved(store, { x: 1 })
      const session = store.open(key)
      expect(await session.asetdefault('x', 2)).toBe(1)
      expect(session.modified).toBe(false)
      expect(await session.asetdefault('foo', 'bar')).toBe('bar')
      expect(await session.asetdefault('foo', 'baz')).toBe('bar')
      expect(session.modified).toBe(true)
      await session.asave()
      expect(await store.open(session.sessionKey).aget('foo')).toBe('bar')
    })

    test('update', 'aupdate sets every key and marks the session modified (test_update)', async () => {
      const session = (await open()).open()
      await session.aupdate({ 'update key': 1 })
      expect(session.accessed).toBe(true)
      expect(session.modified).toBe(true)
      expect(await session.aget('update key')).toBe(1)
    })

    test('has', 'ahas answers without modifying (test_has_key)', async () => {
      const store = await open()
      const { key } = await saved(store, { some_key: 1 })
      const session = store.open(key)
      expect(await session.ahas('some_key')).toBe(true)
      expect(await session.ahas('other')).toBe(false)
      expect(session.accessed).toBe(true)
      expect(session.modified).toBe(false)
    })

    test('keys-values-items', 'akeys/avalues/aitems keep insertion order, also after a save and load (test_keys/values/items)', async () => {
      const store = await open()
      const session = store.open()
      expect(await session.avalues()).toEqual([])
      expect(session.accessed).toBe(true)
      await session.aset('z', 1)
      await session.aset('a', 2)
      await session.aset('m', 3)
      expect(await session.akeys()).toEqual(['z', 'a', 'm'])
      expect(await session.avalues()).toEqual([1, 2, 3])
      expect(await session.aitems()).toEqual([['z', 1], ['a', 2], ['m', 3]])
      await session.asave()
      const reopened = store.open(session.sessionKey)
      expect(await reopened.aitems()).toEqual([['z', 1], ['a', 2], ['m', 3]])
      expect(reopened.modified).toBe(false)
      // Updating an existing key keeps its place.
      await reopened.aset('z', 9)
      await reopened.asave()
      expect(await store.open(reopened.sessionKey).akeys()).toEqual(['z', 'a', 'm'])
    })

    test('key-order-long-values', 'insertion order survives a round trip with values over 64 bytes; a key deleted and set again moves to the end', async () => {
      const store = await open()
      const session = store.open()
      await session.aset('user', { id: 1, name: 'Ada Lovelace', email: 'ada@example.com', roles: ['admin'], bio: LONG })
      await session.aset('cart', [1, 2])
      await session.aset('theme', 'dark')
      await session.aset('lang', 'en')
      await session.asave()
      const reopened = store.open(session.sessionKey)
      expect(await reopened.akeys()).toEqual(['user', 'cart', 'theme', 'lang'])
      await reopened.adelete('cart')
      await reopened.aset('cart', [3])
      await reopened.aset('user', { id: 1, bio: LONG })
      await reopened.aset('later', LONG)
      expect(await reopened.akeys()).toEqual(['user', 'theme', 'lang', 'cart', 'later'])
      await reopened.asave()
      expect(await store.open(reopened.sessionKey).akeys()).toEqual(['user', 'theme', 'lang', 'cart', 'later'])
    })

    test('clear', 'aclear empties without loading; a save then stores {} under the same key (test_clear, behaviour 82)', async () => {
      const store = await open()
      const { key } = await saved(store, { x: 1 })
      const session = store.open(key)
      await session.aclear()
      expect(session.accessed).toBe(true)
      expect(session.modified).toBe(true)
      expect(await session.aitems()).toEqual([])
      await session.asave()
      if (capabilities.serverSide) expect(session.sessionKey).toBe(key)
      const reopened = store.open(session.sessionKey)
      expect(await reopened.aitems()).toEqual([])
      expect(reopened.sessionKey).not.toBeNull()
    })

    // ---- §2.9 save / load ----------------------------------------------------------------------

    test('save-load', 'a saved session loads unchanged by key; saving keeps the data and the modified flag (test_save, test_save_doesnt_clear_data)', async () => {
      const store = await open()
      const session = store.open()
      await session.aset('a', 'b')
      await session.aset('nested', { list: [1, { deep: true }], none: null })
      await session.asave()
      expect(session.modified).toBe(true)
      expect(await session.aget('a')).toBe('b')
      const key = session.sessionKey
      expect(typeof key).toBe('string')
      // A second save of the same object is harmless.
      await session.asave()
      const reopened = store.open(session.sessionKey)
      expect(reopened.accessed).toBe(false)
      expect(await reopened.aitems()).toEqual([
        ['a', 'b'],
        ['nested', { list: [1, { deep: true }], none: null }],
      ])
      expect(reopened.modified).toBe(false)
      expect(reopened.sessionKey).toBe(session.sessionKey)
    })

    test('empty-session-saved', 'deleting the last key and saving keeps the (now empty) record under its key (test_empty_session_saved)', async () => {
      const store = await open()
      const { key } = await saved(store, { x: 1 })
      const session = store.open(key)
      await session.adelete('x')
      await session.asave()
      if (capabilities.serverSide) {
        expect(session.sessionKey).toBe(key)
        expect(await store.engine.exists(key)).toBe(true)
      }
      const reopened = store.open(session.sessionKey)
      expect(await reopened.aitems()).toEqual([])
      expect(reopened.sessionKey).toBe(session.sessionKey)
    })

    // ---- §2.3 serialization --------------------------------------------------------------------

    test('json-values', 'every JSON value round-trips exactly', async () => {
      const store = await open()
      const values: SessionData = {
        text: 'é ✓ 🍪 "quoted" \\ \n',
        empty: '',
        int: 9007199254740991,
        float: 1.5,
        negative: -10,
        yes: true,
        no: false,
        nothing: null,
        list: [1, 'two', [3], { four: 4 }],
        emptyList: [],
        object: { a: { b: { c: 'd' } } },
        emptyObject: {},
      }
      const { key } = await saved(store, values)
      expect(Object.fromEntries(await store.open(key).aitems())).toEqual(values)
    })

    test('json-keys', 'keys are strings: odd names and nested numeric keys come back as strings (behaviour 33)', async () => {
      const store = await open()
      const data: SessionData = { 'a b': 1, 'ü': 2, 'a.b:c': 3, null: 4, true: 5, '1e3': 6, nested: { 1: 'one', 2: 'two' } }
      const { key } = await saved(store, data)
      const reopened = store.open(key)
      expect(await reopened.aget('nested')).toEqual({ '1': 'one', '2': 'two' })
      expect(Object.keys((await reopened.aget('nested')) as object)).toEqual(['1', '2'])
      for (const name of ['a b', 'ü', 'a.b:c', 'null', 'true', '1e3']) expect(await reopened.aget(name)).toBe(data[name])
    })

    test('not-serializable', 'a value JSON would change is refused with SessionSerializationError and nothing is written', async () => {
      const store = await open()
      const { key } = await saved(store, { a: 1, obj: { n: 1 } })
      const session = store.open(key)
      const circular: Record<string, unknown> = {}
      circular.self = circular
      const bad: unknown[] = [new Date(), new Map(), new Set(), NaN, Infinity, undefined, 1n, () => 1, Symbol('s'), { when: new Date() }, [1, undefined], circular]
      for (const value of bad) {
        const err = await rejection(session.aset('bad', value))
        expect(err).toBeInstanceOf(SessionSerializationError)
        expect((err as SessionSerializationError).code).toBe('ERR_SESSION_NOT_SERIALIZABLE')
        expect((err as SessionSerializationError).key).toBe('bad')
      }
      expect(await session.ahas('bad')).toBe(false)
      // aupdate is all or nothing.
      expect(await rejection(session.aupdate({ ok: 2, bad: NaN }))).toBeInstanceOf(SessionSerializationError)
      expect(await session.ahas('ok')).toBe(false)
      expect(session.modified).toBe(false)
      // A bad value smuggled in by nested mutation is caught at save, and the store keeps its old record whole.
      await session.aset('a', 2)
      const obj = (await session.aget('obj')) as Record<string, unknown>
      obj.when = new Date()
      session.modified = true
      expect(await rejection(session.asave())).toBeInstanceOf(SessionSerializationError)
      expect(session.sessionKey).toBe(key)
      expect(await store.open(key).aitems()).toEqual([
        ['a', 1],
        ['obj', { n: 1 }],
      ])
    })

    test('nested-mutation', 'a nested change is saved only once `modified = true` is set (behaviour 14)', async () => {
      const store = await open()
      const { key } = await saved(store, { obj: { n: 1 } })
      const untold = store.open(key)
      ;((await untold.aget('obj')) as { n: number }).n = 2
      const skipped = await commitSession(untold, { hadCookie: true })
      expect(skipped.cookie).toBeNull()
      expect(await store.open(key).aget('obj')).toEqual({ n: 1 })

      const told = store.open(key)
      ;((await told.aget('obj')) as { n: number }).n = 3
      told.modified = true
      const result = await commitSession(told, { hadCookie: true })
      expect(result.cookie?.value).toBe(told.sessionKey)
      expect(await store.open(told.sessionKey).aget('obj')).toEqual({ n: 3 })
    })

    test('nested-change-saved', 'a save writes every value changed in place, alongside other changes (Django saves the whole dict)', async () => {
      const store = await open()
      const { key } = await saved(store, { cart: { items: [], note: LONG }, prefs: { theme: 'dark', note: LONG }, kept: { n: 1 } })
      const request = store.open(key)
      ;((await request.aget('cart')) as { items: string[] }).items.push('book')
      ;((await request.aget('prefs')) as { theme: string }).theme = 'light'
      await request.aset('visits', 1)
      await commitSession(request, { hadCookie: true })
      const after = store.open(request.sessionKey)
      expect(Object.fromEntries(await after.aitems())).toEqual({
        cart: { items: ['book'], note: LONG },
        prefs: { theme: 'light', note: LONG },
        kept: { n: 1 },
        visits: 1,
      })
      // An explicit asave() with only an in-place change writes it too, and so does a second one after another change.
      ;((await after.aget('cart')) as { items: string[] }).items.push('pen')
      await after.asave()
      expect(await store.open(after.sessionKey).aget('cart')).toEqual({ items: ['book', 'pen'], note: LONG })
      const set = { list: [LONG] }
      await after.aset('fresh', set)
      await after.asave()
      set.list.push('more')
      await after.asave()
      expect(await store.open(after.sessionKey).aget('fresh')).toEqual({ list: [LONG, 'more'] })
    })

    test('proto-keys', '"__proto__", "constructor" and friends are plain data and pollute nothing', async () => {
      const store = await open()
      const session = store.open()
      expect(await session.ahas('constructor')).toBe(false)
      expect(await session.aget('toString')).toBeUndefined()
      await session.aset('constructor', { prototype: { polluted: 'yes' } })
      await session.aset('toString', 'text')
      await session.aset('nested', JSON.parse('{"__proto__":{"polluted":"yes"}}'))
      await session.asave()
      const reopened = store.open(session.sessionKey)
      expect(await reopened.akeys()).toEqual(['constructor', 'toString', 'nested'])
      expect(await reopened.aget('constructor')).toEqual({ prototype: { polluted: 'yes' } })
      expect(await reopened.aget('toString')).toBe('text')
      expect(await reopened.ahas('valueOf')).toBe(false)
      const nested = (await reopened.aget('nested')) as object
      expect(Object.keys(nested)).toEqual(['__proto__'])
      expect(Object.getPrototypeOf(nested)).toBe(Object.prototype)
      // A top-level "__proto__" is a reserved "_" key for users, but a record holding one must still load as data.
      const key = await store.engine.save(newSessionKey(), write(JSON.parse('{"__proto__":{"polluted":"yes"},"ok":1}') as Record<string, unknown>), { mustCreate: true })
      const record = await store.engine.load(key)
      expect(record === null ? null : Object.keys(record)).toEqual(['__proto__', 'ok'])
      expect(record === null ? null : Object.getPrototypeOf(record)).toBe(Object.prototype)
      expect(await store.open(key).aget('__proto__')).toEqual({ polluted: 'yes' })
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined()
    })

    // ---- §2.5 keys -----------------------------------------------------------------------------

    test('unknown-key', 'a key the store does not hold is never adopted: a save makes a fresh one (test_invalid_key, behaviours 69-71)', async () => {
      const store = await open()
      const planted = 'x'.repeat(32)
      const session = store.open(planted)
      expect(session.sessionKey).toBe(planted)
      expect(await session.aget('cat')).toBeUndefined()
      expect(session.sessionKey).toBeNull()
      await session.aset('a', 1)
      await session.asave()
      expect(session.sessionKey).not.toBeNull()
      expect(session.sessionKey).not.toBe(planted)
      expect(await store.engine.exists(planted)).toBe(false)
      expect(await store.open(planted).akeys()).toEqual([])
    })

    test('short-key', 'a key shorter than 8 characters is no key at all (test_session_key_*_invalid)', async () => {
      const store = await open()
      expect(store.open('').sessionKey).toBeNull()
      const short = store.open('1234567')
      expect(short.sessionKey).toBeNull()
      expect(await short.aisEmpty()).toBe(true)
      expect(store.open('12345678').sessionKey).toBe('12345678')
    })

    test(
      'key-format',
      'new keys are 32 characters of [a-z0-9], different every time (behaviour 66)',
      async () => {
        const store = await open()
        const a = await saved(store, { n: 1 })
        const b = await saved(store, { n: 1 })
        expect(a.key).toMatch(/^[a-z0-9]{32}$/)
        expect(b.key).toMatch(/^[a-z0-9]{32}$/)
        expect(a.key).not.toBe(b.key)
      },
      'serverSide',
    )

    // ---- §2.9 store contract -------------------------------------------------------------------

    test('exists', capabilities.serverSide ? 'exists() is true after a save and false after delete() (test_save, test_delete)' : 'exists() is always false: there is no server-side record', async () => {
      const store = await open()
      const { key } = await saved(store, { n: 1 })
      expect(await store.engine.exists('')).toBe(false)
      if (!capabilities.serverSide) {
        expect(await store.engine.exists(key)).toBe(false)
        return
      }
      expect(await store.engine.exists(key)).toBe(true)
      await store.engine.delete(key)
      expect(await store.engine.exists(key)).toBe(false)
      expect(await store.open(key).akeys()).toEqual([])
    })

    test('load-never-throws', 'load() of a missing, malformed or overlong key returns null (test_load_overlong_key)', async () => {
      const store = await open()
      for (const key of ['', 'x', newSessionKey(), 'a'.repeat(1240), 'a.b.c', 'a..', '🍪'.repeat(16), '%00\u0000;=', '../../etc/passwd']) {
        expect(await store.engine.load(key)).toBeNull()
      }
    })

    test('delete-missing', 'delete() of a missing key is not an error', async () => {
      const store = await open()
      await store.engine.delete(newSessionKey())
      await store.open().aflush()
    })

    test(
      'must-create',
      'save(mustCreate) on a taken key throws CreateError and leaves the record alone (behaviour 93)',
      async () => {
        const store = await open()
        const { key } = await saved(store, { owner: 'first' })
        const err = await rejection(store.engine.save(key, write({ owner: 'second' }), { mustCreate: true }))
        expect(err).toBeInstanceOf(CreateError)
        expect((err as CreateError).code).toBe('ERR_SESSION_KEY_TAKEN')
        expect(await store.open(key).aget('owner')).toBe('first')
      },
      'serverSide',
    )

    test(
      'must-create-retry',
      'a create that meets a taken key retries on a fresh key (behaviour 92)',
      async () => {
        const store = await open()
        const { key: taken } = await saved(store, { owner: 'first' })
        const engine = store.engine
        let collide = true
        // Turns the first create into a collision with a real record, so the engine itself raises CreateError.
        const colliding: SessionEngine = {
          load: (k) => engine.load(k),
          save: (k, w, o) => {
            if (o.mustCreate && collide) {
              collide = false
              return engine.save(taken, w, o)
            }
            return engine.save(k, w, o)
          },
          delete: (k) => engine.delete(k),
          exists: (k) => engine.exists(k),
          clearExpired: () => engine.clearExpired(),
        }
        const session = new Session(colliding, store.settings)
        await session.aset('owner', 'second')
        await session.asave()
        expect(collide).toBe(false)
        expect(session.sessionKey).not.toBe(taken)
        expect(await store.open(taken).aget('owner')).toBe('first')
        expect(await store.open(session.sessionKey).aget('owner')).toBe('second')
      },
      'serverSide',
    )

    test(
      'update-missing',
      'save() without mustCreate on a missing key throws UpdateError and creates nothing (behaviour 95)',
      async () => {
        const store = await open()
        const key = newSessionKey()
        const err = await rejection(store.engine.save(key, write({ a: 1 }), { mustCreate: false }))
        expect(err).toBeInstanceOf(UpdateError)
        expect((err as UpdateError).code).toBe('ERR_SESSION_GONE')
        expect(await store.engine.exists(key)).toBe(false)
        expect(await store.engine.load(key)).toBeNull()
      },
      'serverSide',
    )

    test(
      'interrupted',
      'saving a session deleted meanwhile throws SessionInterrupted and does not resurrect it (test_session_save_does_not_resurrect_session_logged_out_in_other_context)',
      async () => {
        const store = await open()
        const { session, key } = await saved(store, { test_data: 'value1' })
        await store.open(key).aflush()
        await session.aset('test_data', 'value2')
        const err = await rejection(session.asave())
        expect(err).toBeInstanceOf(SessionInterrupted)
        expect((err as SessionInterrupted).code).toBe('ERR_SESSION_INTERRUPTED')
        expect(await store.engine.exists(key)).toBe(false)
        expect(await store.open(key).aitems()).toEqual([])
        // aclear() does not load, so it cannot notice either: the save is refused the same way (behaviour 82).
        const cleared = store.open(key)
        await cleared.aclear()
        expect(await rejection(cleared.asave())).toBeInstanceOf(SessionInterrupted)
        expect(await store.engine.exists(key)).toBe(false)
      },
      'serverSide',
    )

    test(
      'save-unread-gone',
      'asave() of a session never read whose record is gone throws SessionInterrupted and creates nothing (Django UpdateError)',
      async () => {
        const store = await open()
        const { key } = await saved(store, { user: 'ada' })
        await store.engine.delete(key)
        const unread = store.open(key)
        const err = await rejection(unread.asave())
        expect(err).toBeInstanceOf(SessionInterrupted)
        expect(unread.modified).toBe(false)
        expect(unread.accessed).toBe(false)
        expect(await store.engine.exists(key)).toBe(false)
        if (unread.sessionKey !== null && unread.sessionKey !== key) expect(await store.engine.exists(unread.sessionKey)).toBe(false)
      },
      'serverSide',
    )

    test(
      'save-sets-modified',
      capabilities.serverSide
        ? 'a save of an unchanged session leaves modified false, and commitSession then sends nothing (Django cache engines)'
        : 'a save issues a new value and sets modified, so commitSession sends it (Django signed_cookies save(), item 114)',
      async () => {
        const store = await open()
        const { key } = await saved(store, { a: LONG })
        const session = store.open(key)
        expect(await session.aget('a')).toBe(LONG)
        await session.asave()
        expect(session.modified).toBe(!capabilities.serverSide)
        const { cookie } = await commitSession(session, { hadCookie: true })
        if (capabilities.serverSide) {
          expect(cookie).toBeNull()
        } else {
          expect(cookie?.value).toBe(session.sessionKey)
          expect(await store.open(cookie?.value).aget('a')).toBe(LONG)
        }
      },
    )

    test('save-refreshes-expiry', 'every asave() writes, a second one with nothing new included: it restarts the expiry window (Django save())', async () => {
      const store = await open()
      const { key } = await saved(store, { a: 1 })
      const ages: number[] = []
      const engine = store.engine
      const counting: SessionEngine = {
        load: (k) => engine.load(k),
        save: (k, w, o) => (ages.push(w.expiryAge), engine.save(k, w, o)),
        delete: (k) => engine.delete(k),
        exists: (k) => engine.exists(k),
        clearExpired: () => engine.clearExpired(),
      }
      const session = new Session(counting, store.settings, key)
      await session.asetExpiry(600)
      await session.asave()
      await session.asave()
      await session.asave()
      expect(ages).toEqual([600, 600, 600])
      expect(await store.open(session.sessionKey).aget('a')).toBe(1)
    })

    test(
      'deleted-before-load',
      'a session deleted before this request first touched it becomes a new session on a new key (behaviour 96)',
      async () => {
        const store = await open()
        const { key } = await saved(store, { a: 1 })
        const session = store.open(key)
        await store.engine.delete(key)
        await session.aset('b', 2)
        await session.asave()
        expect(session.sessionKey).not.toBe(key)
        expect(await store.open(session.sessionKey).aitems()).toEqual([['b', 2]])
        expect(await store.engine.exists(key)).toBe(false)
      },
      'serverSide',
    )

    // ---- §2.6 / §2.7 flush and cycle -----------------------------------------------------------

    test('flush', capabilities.serverSide ? 'aflush deletes the record and drops the key (test_flush)' : 'aflush drops the key; the old value cannot be revoked (test_flush, security S10)', async () => {
      const store = await open()
      const { session, key } = await saved(store, { a: 1 })
      await session.aflush()
      expect(session.sessionKey).toBeNull()
      expect(session.modified).toBe(true)
      expect(session.accessed).toBe(true)
      expect(await session.aisEmpty()).toBe(true)
      if (capabilities.serverSide) {
        expect(await store.engine.exists(key)).toBe(false)
        expect(await store.open(key).akeys()).toEqual([])
      } else {
        expect(await store.open(key).aget('a')).toBe(1)
      }
      // Data written after a flush goes to a brand-new key (behaviour 81).
      await session.aset('b', 2)
      await session.asave()
      expect(session.sessionKey).not.toBeNull()
      expect(session.sessionKey).not.toBe(key)
      expect(await store.open(session.sessionKey).aitems()).toEqual([['b', 2]])
    })

    test('cycle-key', capabilities.serverSide ? 'acycleKey keeps the data under a new key; the old key stops loading (test_cycle)' : 'acycleKey keeps the data under a fresh value; the old value cannot be revoked (test_cycle)', async () => {
      const store = await open()
      const { session, key } = await saved(store, { a: 'c', b: 'd' })
      await session.acycleKey()
      expect(session.modified).toBe(true)
      expect(session.sessionKey).not.toBeNull()
      expect(await session.aitems()).toEqual([
        ['a', 'c'],
        ['b', 'd'],
      ])
      expect(await store.open(session.sessionKey).aitems()).toEqual([
        ['a', 'c'],
        ['b', 'd'],
      ])
      if (capabilities.serverSide) {
        expect(session.sessionKey).not.toBe(key)
        expect(await store.engine.exists(key)).toBe(false)
        expect(await store.engine.exists(session.sessionKey as string)).toBe(true)
        expect(await store.open(key).akeys()).toEqual([])
      } else {
        expect(await store.open(key).aget('a')).toBe('c')
      }
    })

    test('cycle-key-unloaded', 'acycleKey on a session not yet loaded keeps the stored data (test_cycle_with_no_session_cache)', async () => {
      const store = await open()
      const { key } = await saved(store, { a: 'c', b: 'd' })
      const session = store.open(key)
      await session.acycleKey()
      expect(await store.open(session.sessionKey).aitems()).toEqual([
        ['a', 'c'],
        ['b', 'd'],
      ])
    })

    test('cycle-key-new', 'acycleKey on a never-saved session creates it (behaviour 79)', async () => {
      const store = await open()
      const session = store.open()
      await session.aset('a', 1)
      await session.acycleKey()
      expect(session.sessionKey).not.toBeNull()
      expect(await store.open(session.sessionKey).aget('a')).toBe(1)
    })

    test(
      'cycle-after-logout',
      'acycleKey() of a loaded session whose record a concurrent logout deleted throws SessionInterrupted and brings nothing back',
      async () => {
        const store = await open()
        const { key } = await saved(store, { user: 'ada', note: LONG })
        const request = store.open(key)
        expect(await request.aget('user')).toBe('ada')
        await store.open(key).aflush()
        const err = await rejection(request.acycleKey())
        expect(err).toBeInstanceOf(SessionInterrupted)
        expect(await store.engine.exists(key)).toBe(false)
        if (request.sessionKey !== null && request.sessionKey !== key) {
          expect(await store.engine.exists(request.sessionKey)).toBe(false)
          expect(await store.open(request.sessionKey).akeys()).toEqual([])
        }
      },
      'serverSide',
    )

    test(
      'cycle-unloaded-after-logout',
      'acycleKey() of a session not loaded yet, whose record a logout deleted first, starts an empty session: the data never comes back',
      async () => {
        const store = await open()
        const { key } = await saved(store, { user: 'ada', note: LONG })
        const request = store.open(key)
        await store.open(key).aflush()
        await request.acycleKey()
        expect(await request.akeys()).toEqual([])
        expect(request.sessionKey).not.toBe(key)
        await request.aset('after', 1)
        await request.asave()
        expect(await store.open(request.sessionKey).aitems()).toEqual([['after', 1]])
        expect(await store.engine.exists(key)).toBe(false)
        expect(await store.open(key).akeys()).toEqual([])
      },
      'serverSide',
    )

    test('cycle-unloaded-save', 'acycleKey() of a session not loaded yet, then a change and a save: the new key holds both, the old stops loading', async () => {
      const store = await open()
      const { key } = await saved(store, { a: 'c', note: LONG })
      const session = store.open(key)
      await session.acycleKey()
      expect(session.modified).toBe(true)
      expect(session.accessed).toBe(true)
      expect(await session.aget('a')).toBe('c')
      await session.aset('b', 'd')
      await session.asave()
      expect(await store.open(session.sessionKey).aitems()).toEqual([
        ['a', 'c'],
        ['note', LONG],
        ['b', 'd'],
      ])
      if (capabilities.serverSide) {
        expect(session.sessionKey).not.toBe(key)
        expect(await store.engine.exists(key)).toBe(false)
        expect(await store.open(key).akeys()).toEqual([])
      }
    })

    // ---- a key cycle racing the same browser's other requests (differs from Django, README) -------
    /**
     * Two requests from one browser: `racing` was sent with the old cookie before the login's response arrived,
     * and loads after the login cycled the key. Returns the racing request and the login's new key.
     */
    const raceLogin = async (store: SessionStore, loginLoads: boolean) => {
      const { key } = await saved(store, { cart: LONG, theme: 'dark' })
      const racing = store.open(key)
      const login = store.open(key)
      if (loginLoads) expect(await login.aget('cart')).toBe(LONG)
      await login.acycleKey()
      await login.aset('user', 'ada')
      await commitSession(login, { hadCookie: true })
      return { racing, key, newKey: login.sessionKey as string }
    }

    test(
      'cycle-race-read',
      'a request holding the old key that reads after a concurrent key cycle (login) gets no deletion cookie, which would sign the browser out',
      async () => {
        const store = await open()
        for (const loginLoads of [false, true]) {
          const { racing, key, newKey } = await raceLogin(store, loginLoads)
          // The old key loads nothing, as after any cycle (S1)...
          expect(await racing.aget('cart')).toBeUndefined()
          expect(await racing.aitems()).toEqual([])
          expect(racing.sessionKey).toBeNull()
          // ...but its response leaves the browser's cookie alone: by now it holds the new key, or soon will.
          expect(await commitSession(racing, { hadCookie: true })).toEqual({ cookie: null, vary: true })
          expect(await store.open(newKey).aget('user')).toBe('ada')
          expect(await store.engine.exists(key)).toBe(false)
        }
        // A logout is not a key cycle: a request holding the key a logout deleted still gets Django's deletion cookie.
        const { key } = await saved(store, { user: 'ada', note: LONG })
        const late = store.open(key)
        await store.open(key).aflush()
        expect(await late.aget('user')).toBeUndefined()
        const { cookie } = await commitSession(late, { hadCookie: true })
        expect(cookie?.value).toBe('')
        expect(cookie?.maxAge).toBe(0)
      },
      'serverSide',
    )

    test(
      'cycle-race-write',
      'a write by a request holding the old key after a concurrent key cycle throws SessionInterrupted: no new session replaces the login\'s cookie',
      async () => {
        const store = await open()
        for (const loginLoads of [false, true]) {
          const { racing, newKey } = await raceLogin(store, loginLoads)
          await racing.aset('theme', 'light')
          const err = await rejection(commitSession(racing, { hadCookie: true }))
          expect(err).toBeInstanceOf(SessionInterrupted)
          expect((err as SessionInterrupted).message).toMatch(/new key/)
          expect(racing.sessionKey).toBeNull()
          expect(await store.open(newKey).aitems()).toEqual([
            ['cart', LONG],
            ['theme', 'dark'],
            ['user', 'ada'],
          ])
        }
      },
      'serverSide',
    )

    test(
      'cycle-race-new-start',
      'after a concurrent key cycle, a request holding the old key may still log out (deletion cookie) or log in again (a session of its own)',
      async () => {
        const store = await open()
        const logout = await raceLogin(store, false)
        await logout.racing.aflush()
        const { cookie } = await commitSession(logout.racing, { hadCookie: true })
        expect(cookie?.value).toBe('')
        const again = await raceLogin(store, true)
        expect(await again.racing.aget('cart')).toBeUndefined()
        await again.racing.acycleKey()
        await again.racing.aset('user', 'ada')
        const result = await commitSession(again.racing, { hadCookie: true })
        expect(result.cookie?.value).toBe(again.racing.sessionKey)
        expect(await store.open(again.racing.sessionKey).aitems()).toEqual([['user', 'ada']])
        expect(await store.open(again.newKey).aget('user')).toBe('ada')
        // Its own session from then on: ended by a logout elsewhere, a save says so, not that a cycle moved it.
        await store.open(again.racing.sessionKey).aflush()
        await again.racing.aset('theme', 'light')
        const err = await rejection(again.racing.asave())
        expect(err).toBeInstanceOf(SessionInterrupted)
        expect((err as SessionInterrupted).message).toMatch(/deleted/)
      },
      'serverSide',
    )

    // ---- §2.4 expiry ---------------------------------------------------------------------------

    test('expiry-negative', 'a session saved already expired does not load (test_actual_expiry)', async () => {
      const store = await open()
      const fresh = store.open()
      await fresh.aset('foo', 'bar')
      await fresh.asetExpiry(-10)
      await fresh.asave()
      expect(await store.open(fresh.sessionKey).aitems()).toEqual([])

      const { key } = await saved(store, { foo: 'bar' })
      const existing = store.open(key)
      await existing.asetExpiry(new Date(Date.now() - 10_000))
      await existing.asave()
      expect(await store.open(existing.sessionKey).aitems()).toEqual([])
    })

    test('expiry-browser-close', 'a browser-close session (asetExpiry(0)) is kept by the store for cookieAge (behaviour 64)', async () => {
      const store = await open()
      const session = store.open()
      await session.aset('a', 1)
      await session.asetExpiry(0)
      await session.asave()
      const reopened = store.open(session.sessionKey)
      expect(await reopened.aget('a')).toBe(1)
      expect(await reopened.agetExpireAtBrowserClose()).toBe(true)
    })

    test(
      'expiry-real-time',
      'asetExpiry(1) and cookieAge: 1 sessions stop loading after 1 s; a longer one survives (behaviour 65)',
      async () => {
        const shortLived = await open({ cookieAge: 1 })
        const byAge = await saved(shortLived, { a: 1 })
        const store = await open()
        const bySetExpiry = store.open()
        await bySetExpiry.aset('b', 2)
        await bySetExpiry.asetExpiry(1)
        await bySetExpiry.asave()
        const control = store.open()
        await control.aset('c', 3)
        await control.asetExpiry(60)
        await control.asave()
        expect(await store.open(bySetExpiry.sessionKey).aget('b')).toBe(2)
        await sleep(EXPIRY_WAIT_MS)
        const expiredByAge = shortLived.open(byAge.key)
        expect(await expiredByAge.aitems()).toEqual([])
        expect(expiredByAge.sessionKey).toBeNull()
        expect(await store.open(bySetExpiry.sessionKey).aitems()).toEqual([])
        expect(await store.open(control.sessionKey).aget('c')).toBe(3)
      },
      undefined,
      EXPIRY_WAIT_MS + 10_000,
    )

    test('expiry-too-long', 'an expiry beyond 400 days is refused at asetExpiry, and by the engine before it writes anything', async () => {
      const store = await open()
      const { key } = await saved(store, { a: 1 })
      const session = store.open(key)
      for (const value of [MAX_EXPIRY_SECONDS + 1, 1e16, new Date(Date.now() + (MAX_EXPIRY_SECONDS + 60) * 1000)]) {
        const err = await rejection(session.asetExpiry(value))
        expect(err).toBeInstanceOf(SessionExpiryTooLong)
        expect((err as SessionExpiryTooLong).code).toBe('ERR_SESSION_EXPIRY_TOO_LONG')
      }
      expect(session.modified).toBe(false)
      await session.asetExpiry(MAX_EXPIRY_SECONDS)
      await session.asave()
      expect(await store.open(session.sessionKey).aget('a')).toBe(1)
      // An engine handed an absurd age refuses it whole: a create leaves no record, an update leaves the old one.
      const fresh = newSessionKey()
      expect(await rejection(store.engine.save(fresh, write({ b: 2 }, 1e14), { mustCreate: true }))).toBeInstanceOf(SessionExpiryTooLong)
      expect(await store.engine.exists(fresh)).toBe(false)
      if (capabilities.serverSide) {
        const update = { ...write({ a: 2 }, 1e14), replace: false }
        expect(await rejection(store.engine.save(key, update, { mustCreate: false }))).toBeInstanceOf(SessionExpiryTooLong)
        expect(await store.open(key).aget('a')).toBe(1)
      }
    })

    test(
      'expiry-follows-store',
      'the store keeps a session for the expiry it holds, whichever request saves last (a concurrent asetExpiry is never undone)',
      async () => {
        /** Requests A and B load the session; B sets `expiry` and saves; then A, which loaded before, saves another key. */
        const race = async (store: SessionStore, expiry: number): Promise<string> => {
          const { key } = await saved(store, { a: 1 })
          const a = store.open(key)
          const b = store.open(key)
          await Promise.all([a.aget('a'), b.aget('a')])
          await b.asetExpiry(expiry)
          await b.asave()
          await a.aset('x', 1)
          await a.asave()
          return key
        }
        // Lengthened to 60 s, where cookieAge alone would be 1 s; shortened to 1 s, where cookieAge would keep it two weeks.
        const shortAge = await open({ cookieAge: 1 })
        const lengthened = await race(shortAge, 60)
        const store = await open()
        const shortened = await race(store, 1)
        await sleep(EXPIRY_WAIT_MS)
        expect(Object.fromEntries(await shortAge.open(lengthened).aitems())).toEqual({ a: 1, _session_expiry: 60, x: 1 })
        expect(await store.open(shortened).aitems()).toEqual([])
      },
      'mergesConcurrentWrites',
      EXPIRY_WAIT_MS + 10_000,
    )

    // ---- concurrency ---------------------------------------------------------------------------

    test(
      'concurrent-writes',
      'two requests that change different keys of one session both keep their changes',
      async () => {
        const store = await open()
        const { key } = await saved(store, { base: 0, gone: 0 })
        const first = store.open(key)
        const second = store.open(key)
        await Promise.all([first.aget('base'), second.aget('base')])
        await first.aset('a', 1)
        await second.aset('b', 2)
        await second.adelete('gone')
        await first.asave()
        await second.asave()
        expect(Object.fromEntries(await store.open(key).aitems())).toEqual({ base: 0, a: 1, b: 2 })
      },
      'mergesConcurrentWrites',
    )

    test(
      'concurrent-nested-writes',
      '50 requests that each change one nested value in place and set one key of one session all keep their changes',
      async () => {
        const store = await open()
        const base = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, { hits: [] as number[], pad: LONG }]))
        const { key } = await saved(store, base)
        await Promise.all(
          Array.from({ length: 50 }, async (_, i) => {
            const request = store.open(key)
            // Every value is handed out, and only one changed: the others must not be written back stale.
            await request.aitems()
            ;((await request.aget(`k${i}`)) as { hits: number[] }).hits.push(i)
            await request.aset(`v${i}`, LONG)
            await request.asave()
          }),
        )
        const data = Object.fromEntries(await store.open(key).aitems())
        for (let i = 0; i < 50; i++) {
          expect(data[`k${i}`]).toEqual({ hits: [i], pad: LONG })
          expect(data[`v${i}`]).toBe(LONG)
        }
      },
      'mergesConcurrentWrites',
    )

    test('clear-expired', 'clearExpired() resolves and keeps live sessions', async () => {
      const store = await open()
      const { key } = await saved(store, { a: 1 })
      await store.clearExpired()
      expect(await store.open(key).aget('a')).toBe(1)
    })
  })
}

import {
  CreateError,
  SessionInterrupted,
  SessionKeyError,
  SessionReadOnly,
  SessionReservedKeyError,
  SessionStoreUnavailable,
  UpdateError,
} from '../errors.js'
import { KEY_CYCLED, type SessionEngine, type SessionWrite } from './engine.js'
import { checkExpiryAge, EXPIRY_KEY, expiryAge, expiryDate } from './expiry.js'
import { newSessionKey, validKey } from './keys.js'
import { cappedExpiryAge, lifetimeEnded, stampLifetime } from './lifetime.js'
import type { SessionSettings } from './settings.js'

/** The default shape of session data. Declare an interface of your own to get typed `aget`/`aset`. */
export type SessionData = Record<string, unknown>

/** `asetExpiry` input: seconds from the last save, an absolute `Date`, `0` for "at browser close", `null` for the global age. */
export type Expiry = number | Date | null

export interface ExpiryOptions {
  /** The instant the age is measured from; now by default. */
  modification?: Date
  /** Use this stored expiry instead of the session's own; passing it avoids a load (behaviour 57). */
  expiry?: number | string | Date | null
}

export { EXPIRY_KEY }
export const TEST_COOKIE_NAME = 'testcookie'
export const TEST_COOKIE_VALUE = 'worked'
/** Django's `create()` gives up on a cache after 10 000 tries (behaviour 91); a 165-bit key collides far sooner only on a broken store. */
const CREATE_ATTEMPTS = 100

/**
 * Writes reserved `_` keys for edge-session's own features (src/users/): the only code holding this symbol.
 * Not re-exported from the package, so an app's `_` keys stay refused.
 */
export const writeReserved = Symbol('edge-session: write a reserved key')

/**
 * Read by `commitSession`: this object wrote the session as it is now (a key cycle, an explicit `asave()`) within
 * the current second, and nothing changed since, in place included. The end-of-request save would write the same
 * state with the same expiry second (the same signed cookie), one more round trip for nothing: it is skipped.
 * `asave()` itself always writes. Not re-exported.
 */
export const writtenAsIs = Symbol('edge-session: the store holds this session as it is')

/**
 * Read by `commitSession`: the cookie named a key that a concurrent request's key cycle (a login) moved away from,
 * and this request has neither flushed nor made a session of its own since. Not re-exported.
 */
export const cycledAway = Symbol('edge-session: the key was cycled by a concurrent request')

/** 100 collisions of 165-bit random keys mean a broken store, not bad luck: fail closed. */
function keysExhausted(): SessionStoreUnavailable {
  return new SessionStoreUnavailable(`the store reported ${CREATE_ATTEMPTS} fresh random keys in a row as taken`)
}

/** Whatever `apop(key)` was given as a default, told apart from "no default" even when it is `undefined`. */
type PopArgs<V> = [] | [defaultValue: V]

/**
 * One session: Django's `SessionBase`, async only. Holds every semantic rule (lazy loading,
 * `accessed`/`modified`, expiry arithmetic, key cycling); the engine only stores.
 *
 * Exported from `edge-session`.
 *
 * @example
 * ```ts
 * const session = store.open(cookieValue)
 * await session.aset('fav_color', 'blue')
 * await session.asave()
 * ```
 */
export class Session<T extends object = SessionData> {
  /** Some data was read or written (Django behaviour 18). Drives `Vary: Cookie`. */
  accessed = false
  #modified = false
  #key: string | null
  #data: Map<string, unknown> | null = null
  #loading: Promise<Map<string, unknown>> | null = null
  #changed = new Set<string>()
  #deleted = new Set<string>()
  #replace = false
  /**
   * The serialized form, as the store holds it, of each object value the caller may hold (handed out, or set):
   * a save writes the ones that differ now, i.e. changed in place. Comparing only those keeps concurrent
   * requests' writes of other keys (Django writes the whole dict, and loses them). Not kept for an engine that
   * writes the whole session at every save (a signed cookie), so that reads cost it nothing.
   */
  #snapshots = new Map<string, string>()
  /**
   * The second (since the epoch) of this object's last write, while that write holds the session as it is (unless a
   * value was changed in place since); `null` otherwise.
   */
  #writtenAt: number | null = null
  /** The engine answered `KEY_CYCLED` for the cookie's key: see `cycledAway`. */
  #cycledAway = false
  /** Counts changes, so a save knows whether one landed while it was waiting on the engine. */
  #generation = 0
  readonly #engine: SessionEngine
  readonly #settings: SessionSettings
  readonly #readOnly: boolean

  constructor(engine: SessionEngine, settings: SessionSettings, key?: string | null, options: { readOnly?: boolean } = {}) {
    this.#engine = engine
    this.#settings = settings
    this.#key = validKey(key)
    this.#readOnly = options.readOnly ?? false
  }

  /** The key the store knows this session by (for the cookie engine: the signed cookie value). Read-only. */
  get sessionKey(): string | null {
    return this.#key
  }

  /**
   * The session must be saved. Django never resets it, not even after a save (behaviour 27).
   * Set it to `true` after changing a nested value in place and nothing else, so that the response saves
   * (behaviour 14); the save then finds and writes every value changed in place.
   */
  get modified(): boolean {
    return this.#modified
  }

  set modified(value: boolean) {
    if (value) {
      this.#writable('modified')
      this.#changedSinceSave()
    }
    this.#modified = value
  }

  get readOnly(): boolean {
    return this.#readOnly
  }

  get settings(): SessionSettings {
    return this.#settings
  }

  // ---- loading -------------------------------------------------------------

  /** Loads at most once per object, and only when data is first touched (behaviour 15). */
  async #session(): Promise<Map<string, unknown>> {
    this.accessed = true
    if (this.#data) return this.#data
    // Concurrent first touches share one load.
    this.#loading ??= this.#load()
    return await this.#loading
  }

  async #load(): Promise<Map<string, unknown>> {
    let data = new Map<string, unknown>()
    if (this.#key !== null) {
      const record = await this.#engine.load(this.#key)
      if (record === KEY_CYCLED) {
        // Loads nothing, as a missing record; remembered so that the response leaves the cookie alone.
        this.#key = null
        this.#cycledAway = true
      }
      // A record past its absolute lifetime (src/core/lifetime.ts) is as gone as an expired one, in every engine.
      else if (record && !lifetimeEnded(record, this.#settings.lifetime, new Date())) data = new Map(Object.entries(record))
      // A key the store does not hold is never adopted (behaviour 69, security S1).
      else this.#key = null
    }
    // aclear() may have run while the load was in flight: its empty data wins.
    this.#data ??= data
    return this.#data
  }

  #writable(method: string): void {
    if (this.#readOnly) throw new SessionReadOnly(method)
  }

  #checkKey(method: string, key: string): void {
    this.#writable(method)
    if (typeof key !== 'string') throw new TypeError(`session.${method}(): the key must be a string. Received ${typeof key}.`)
    if (key.startsWith('_')) throw new SessionReservedKeyError(key)
  }

  #validate(value: unknown, key: string): void {
    const { serializer } = this.#settings
    if (serializer.validate) serializer.validate(value, key)
    else serializer.dumps(value, key)
  }

  #put(data: Map<string, unknown>, key: string, value: unknown): void {
    // Refuse now, with the key in the message, rather than at save time far from the cause.
    this.#validate(value, key)
    this.#store(data, key, value)
  }

  /** Sets a value already validated. */
  #store(data: Map<string, unknown>, key: string, value: unknown): void {
    data.set(key, value)
    // A key removed earlier stays in `deleted` too: the engine removes it before writing it, so it moves to the end.
    this.#changed.add(key)
    this.#modified = true
    this.#changedSinceSave()
  }

  #remove(data: Map<string, unknown>, key: string): void {
    data.delete(key)
    this.#deleted.add(key)
    this.#changed.delete(key)
    this.#snapshots.delete(key)
    this.#modified = true
    this.#changedSinceSave()
  }

  /** A value about to reach the caller, who may change it in place: note how the store holds it, to see that at save. */
  #handOut(data: Map<string, unknown>, key: string): unknown {
    const value = data.get(key)
    if (this.#engine.writesWholeRecord) return value
    if (typeof value === 'object' && value !== null && !this.#changed.has(key) && !this.#snapshots.has(key)) {
      try {
        this.#snapshots.set(key, this.#settings.serializer.dumps(value, key))
      } catch {
        // A stored value the serializer would not write again (nested past its depth limit): reading it must
        // still work. Left untracked, it is written only if set, and then refused with the reason.
      }
    }
    return value
  }

  // ---- the dict API (catalogue §2.1) ----------------------------------------

  async aget<K extends keyof T & string>(key: K): Promise<T[K] | undefined>
  async aget<K extends keyof T & string>(key: K, defaultValue: T[K]): Promise<T[K]>
  async aget(key: string, defaultValue?: unknown): Promise<unknown> {
    const data = await this.#session()
    return data.has(key) ? this.#handOut(data, key) : defaultValue
  }

  async aset<K extends keyof T & string>(key: K, value: T[K]): Promise<void> {
    this.#checkKey('aset', key)
    this.#put(await this.#session(), key, value)
  }

  /** Removes one key; a missing key is a `SessionKeyError` (Django's `del s[k]`). Removing the whole session is `aflush()`. */
  async adelete<K extends keyof T & string>(key: K): Promise<void> {
    this.#checkKey('adelete', key)
    const data = await this.#session()
    if (!data.has(key)) throw new SessionKeyError(key)
    this.#remove(data, key)
  }

  async ahas(key: keyof T & string): Promise<boolean> {
    return (await this.#session()).has(key)
  }

  async apop<K extends keyof T & string>(key: K, ...rest: PopArgs<T[K]>): Promise<T[K]> {
    this.#checkKey('apop', key)
    const data = await this.#session()
    if (data.has(key)) {
      const value = data.get(key) as T[K]
      this.#remove(data, key)
      return value
    }
    // An explicit `undefined` default is still a default (behaviour 8).
    if (rest.length > 0) return rest[0] as T[K]
    throw new SessionKeyError(key)
  }

  /** Sets every key of `values`; marks the session modified even for `{}` (behaviour 25). */
  async aupdate(values: Partial<T>): Promise<void> {
    const entries = Object.entries(values)
    for (const [key] of entries) this.#checkKey('aupdate', key)
    this.#writable('aupdate')
    const data = await this.#session()
    // All or nothing: every value is checked before the first is set.
    for (const [key, value] of entries) this.#validate(value, key)
    for (const [key, value] of entries) this.#store(data, key, value)
    this.#modified = true
  }

  async asetdefault<K extends keyof T & string>(key: K, value: T[K]): Promise<T[K]> {
    const data = await this.#session()
    if (data.has(key)) return this.#handOut(data, key) as T[K]
    this.#checkKey('asetdefault', key)
    this.#put(data, key, value)
    return value
  }

  async akeys(): Promise<string[]> {
    return [...(await this.#session()).keys()]
  }

  async avalues(): Promise<unknown[]> {
    const data = await this.#session()
    return [...data.keys()].map((key) => this.#handOut(data, key))
  }

  async aitems(): Promise<[string, unknown][]> {
    const data = await this.#session()
    return [...data.keys()].map((key) => [key, this.#handOut(data, key)])
  }

  /** Empties the data without loading it; sets `accessed` and `modified` (behaviours 13, 26). */
  async aclear(): Promise<void> {
    this.#writable('aclear')
    this.#data = new Map()
    this.#changed.clear()
    this.#deleted.clear()
    this.#snapshots.clear()
    this.#replace = true
    this.accessed = true
    this.#modified = true
    this.#changedSinceSave()
  }

  /** Never loads and never sets `accessed` (behaviours 19, 75). */
  async aisEmpty(): Promise<boolean> {
    return this.#key === null && (this.#data === null || this.#data.size === 0)
  }

  // ---- lifecycle (catalogue §2.6, §2.7) -------------------------------------

  /** Clears the data, deletes the record from the store and drops the key: logout. */
  async aflush(): Promise<void> {
    // aclear() replaces the map: what was loaded stays readable, for the engine's bookkeeping (see delete()).
    const known = this.#data ?? undefined
    await this.aclear()
    const key = this.#key
    this.#key = null
    // A logout wins over a concurrent login's key cycle: its response deletes the cookie, as Django's does.
    this.#cycledAway = false
    if (key !== null) await this.#engine.delete(key, known)
  }

  /**
   * Keeps the data under a new key and makes the old key stop loading: call it at login
   * against session fixation. The new record is written before this returns.
   */
  async acycleKey(): Promise<void> {
    this.#writable('acycleKey')
    const unloaded = this.#key
    if (unloaded !== null && this.#data === null && this.#loading === null && this.#engine.moveRecord) {
      // Not loaded yet: the store moves the record to a new key as it loads it, one round trip for both.
      // Data touched meanwhile waits for the move, which is this session's load.
      const now = new Date()
      const { cookieAge, lifetime } = this.#settings
      // A session without an expiry of its own restarts at this age, capped only by an absolute lifetime's start.
      const restartAge = lifetime?.absolute === undefined ? cappedExpiryAge(expiryAge(undefined, cookieAge, now), new Map(), lifetime, now) : null
      this.#loading = this.#loadMoved(unloaded, restartAge)
      const data = await this.#session()
      if (this.#key !== null) {
        this.#modified = true
        this.#changedSinceSave()
        // Restarted as Django's create() would: the store holds the session as it is. Otherwise the moved record
        // keeps its old expiry until the end-of-request save restarts it.
        if (restartAge !== null && !data.has(EXPIRY_KEY) && !this.#replace) this.#writtenAt = Math.floor(Date.now() / 1000)
        return
      }
      // It was gone (a logout won): as after a load that finds nothing, a fresh session is created below.
    }
    await this.#session()
    const oldKey = this.#key
    try {
      await this.#create(oldKey)
    } catch (err) {
      // The old record is gone: a logout won the race, and its data must not come back under a new key.
      if (err instanceof UpdateError) throw new SessionInterrupted({ cause: err })
      throw err
    }
  }

  /**
   * Writes the session to the store now, every time (it restarts the expiry window, as Django's `save()` does).
   * The Next.js adapter calls it for you; call it yourself in scripts and jobs. Throws `SessionInterrupted`
   * if the session was deleted meanwhile.
   */
  async asave(): Promise<void> {
    this.#writable('asave')
    const key = this.#key
    // Django's save() looks the record up before loading: a never-read session whose record is gone was
    // ended while this request ran (UpdateError), it does not become a new session.
    const unread = this.#data === null && this.#loading === null
    const accessed = this.accessed
    await this.#session()
    const target = this.#key ?? (unread ? key : null)
    if (target === null) {
      // A new session here would replace the cookie the concurrent login just set: sign the browser out.
      if (this.#cycledAway) throw new SessionInterrupted({ cycled: true })
      return this.#create(null)
    }
    const generation = this.#generation
    const { write, snapshots } = this.#write(false)
    // Until this write succeeds, the store may not hold the session as it is.
    this.#writtenAt = null
    try {
      this.#key = await this.#engine.save(target, write, { mustCreate: false })
    } catch (err) {
      if (!(err instanceof UpdateError)) throw err
      if (unread) {
        // Django raises before it loads: the failed save leaves the session as it found it, key and all.
        this.accessed = accessed
        this.#key = key
        this.#data = null
        this.#loading = null
      }
      throw new SessionInterrupted({ cause: err, cycled: this.#cycledAway })
    }
    // The browser must get the new value (Django's signed_cookies save() sets modified).
    if (this.#engine.keyHoldsData) this.#modified = true
    this.#saved(generation, snapshots, write)
  }

  /** `#load` for `acycleKey()` on an engine that moves records: the record comes back under a fresh key. */
  async #loadMoved(oldKey: string, restartAge: number | null): Promise<Map<string, unknown>> {
    for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
      const key = newSessionKey()
      let record: Record<string, unknown> | null
      try {
        record = await this.#engine.moveRecord!(oldKey, key, restartAge)
      } catch (err) {
        if (err instanceof CreateError) continue
        throw err
      }
      let data = new Map<string, unknown>()
      if (record && !lifetimeEnded(record, this.#settings.lifetime, new Date())) {
        this.#key = key
        data = new Map(Object.entries(record))
      } else {
        // Past its absolute lifetime it is as gone as a missing record, under its new key too.
        if (record) await this.#engine.delete(key)
        this.#key = null
      }
      this.#data ??= data
      return this.#data
    }
    throw keysExhausted()
  }

  async #create(oldKey: string | null): Promise<void> {
    const generation = this.#generation
    const { write, snapshots } = this.#write(true)
    this.#writtenAt = null
    for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
      // Drawing a key costs a getRandomValues call (a tenth of a small cookie write in Node): only when it is used.
      const key = this.#engine.makesOwnKey ? '' : newSessionKey()
      try {
        if (oldKey !== null && this.#engine.cycle) {
          this.#key = await this.#engine.cycle(oldKey, key, write)
        } else {
          this.#key = await this.#engine.save(key, write, { mustCreate: true })
          if (oldKey !== null) await this.#engine.delete(oldKey)
        }
        this.#modified = true
        // This request's own session now: its cookie is the one to send.
        this.#cycledAway = false
        this.#saved(generation, snapshots, write)
        return
      } catch (err) {
        if (!(err instanceof CreateError)) throw err
      }
    }
    throw keysExhausted()
  }

  /** The write, and the serialized form of every object value the caller may hold, as that write stores it. */
  #write(asNew: boolean): { write: SessionWrite; snapshots: Map<string, string> } {
    const data = this.#data ?? new Map<string, unknown>()
    const now = new Date()
    // The lifetime's start is part of the data it limits; stamped here so every engine stores it with the save.
    for (const key of stampLifetime(data, this.#settings.lifetime, now)) this.#changed.add(key)
    const replace = asNew || this.#replace
    const changed = replace ? new Set(data.keys()) : new Set(this.#changed)
    const snapshots = new Map<string, string>()
    const { serializer } = this.#settings
    for (const [key, value] of this.#engine.writesWholeRecord ? [] : data) {
      if (typeof value !== 'object' || value === null) continue
      const before = this.#snapshots.get(key)
      // Never handed out nor set by the caller: it cannot have changed, and needs no snapshot.
      if (before === undefined && !this.#changed.has(key)) continue
      const text = serializer.dumps(value, key)
      if (before !== undefined && text !== before) changed.add(key)
      snapshots.set(key, text)
    }
    const ageOf = (expiry: unknown): number =>
      cappedExpiryAge(expiryAge(expiry, this.#settings.cookieAge, now), data, this.#settings.lifetime, now)
    return {
      write: { data, changed, deleted: new Set(this.#deleted), replace, expiryAge: ageOf(data.get(EXPIRY_KEY)), expiryAgeOf: ageOf },
      snapshots,
    }
  }

  #changedSinceSave(): void {
    this.#writtenAt = null
    this.#generation++
  }

  get [cycledAway](): boolean {
    return this.#cycledAway
  }

  get [writtenAsIs](): boolean {
    // In-place changes are not tracked for such an engine, so it cannot be known unchanged; it saves again.
    if (this.#engine.writesWholeRecord) return false
    if (this.#writtenAt !== Math.floor(Date.now() / 1000) || this.#data === null) return false
    for (const [key, before] of this.#snapshots) {
      if (this.#settings.serializer.dumps(this.#data.get(key), key) !== before) return false
    }
    return true
  }

  /**
   * After a write of the state as it was at `generation`. A change that landed while the engine was
   * busy may or may not be in that write, so its tracking stays and the next save writes it again.
   */
  #saved(generation: number, snapshots: Map<string, string>, write: SessionWrite): void {
    if (generation !== this.#generation) return
    this.#changed.clear()
    this.#deleted.clear()
    this.#replace = false
    this.#snapshots = snapshots
    // A write of an already expired session deleted it: the store does not hold it as it is.
    this.#writtenAt = write.expiryAge > 0 ? Math.floor(Date.now() / 1000) : null
  }

  // ---- expiry (catalogue §2.4) ---------------------------------------------

  /**
   * `seconds` of inactivity, an absolute `Date`, `0` for "when the browser closes", or `null`
   * for the global `cookieAge`. Stored in the session under `_session_expiry`, as Django does.
   */
  async asetExpiry(value: Expiry): Promise<void> {
    this.#writable('asetExpiry')
    const data = await this.#session()
    if (value === null) {
      if (data.has(EXPIRY_KEY)) this.#remove(data, EXPIRY_KEY)
      return
    }
    let stored: number | string
    if (value instanceof Date) {
      if (Number.isNaN(value.getTime())) throw new TypeError('session.asetExpiry(): the Date is invalid.')
      checkExpiryAge((value.getTime() - Date.now()) / 1000)
      stored = value.toISOString()
    } else if (typeof value === 'number' && Number.isFinite(value)) {
      checkExpiryAge(value)
      stored = value
    } else {
      throw new TypeError('session.asetExpiry() takes a number of seconds, a Date, 0 (browser close) or null (the global age).')
    }
    this.#put(data, EXPIRY_KEY, stored)
  }

  async #storedExpiry(options: ExpiryOptions): Promise<unknown> {
    return 'expiry' in options ? options.expiry : (await this.#session()).get(EXPIRY_KEY)
  }

  /** Seconds until expiry, measured from `modification` (now). Without a custom expiry: `cookieAge`. */
  async agetExpiryAge(options: ExpiryOptions = {}): Promise<number> {
    return expiryAge(await this.#storedExpiry(options), this.#settings.cookieAge, options.modification ?? new Date())
  }

  /** The instant the session expires; a garbled stored expiry gives `modification` (now), as its age is 0. */
  async agetExpiryDate(options: ExpiryOptions = {}): Promise<Date> {
    return expiryDate(await this.#storedExpiry(options), this.#settings.cookieAge, options.modification ?? new Date())
  }

  /** Catalogue item 60: the global setting when no expiry is set, else whether the expiry is 0. */
  async agetExpireAtBrowserClose(): Promise<boolean> {
    const expiry = (await this.#session()).get(EXPIRY_KEY)
    if (expiry === undefined || expiry === null) return this.#settings.expireAtBrowserClose
    return expiry === 0
  }

  /** Sets a reserved key, or removes it when `value` is `undefined`. See `writeReserved`. */
  async [writeReserved](key: `_${string}`, value: unknown): Promise<void> {
    // Only login and the password-change call write reserved keys: name the one a developer wrote.
    this.#writable('alogin')
    const data = await this.#session()
    if (value !== undefined) this.#put(data, key, value)
    else if (data.has(key)) this.#remove(data, key)
  }

  // ---- test cookie (catalogue §2.8) ----------------------------------------

  async asetTestCookie(): Promise<void> {
    this.#writable('asetTestCookie')
    this.#put(await this.#session(), TEST_COOKIE_NAME, TEST_COOKIE_VALUE)
  }

  async atestCookieWorked(): Promise<boolean> {
    return (await this.#session()).get(TEST_COOKIE_NAME) === TEST_COOKIE_VALUE
  }

  /** Sets `modified`, like Django's sync `delete_test_cookie()` (behaviour 30: the async one does not, a Django quirk). */
  async adeleteTestCookie(): Promise<void> {
    this.#writable('adeleteTestCookie')
    const data = await this.#session()
    if (!data.has(TEST_COOKIE_NAME)) throw new SessionKeyError(TEST_COOKIE_NAME)
    this.#remove(data, TEST_COOKIE_NAME)
  }
}

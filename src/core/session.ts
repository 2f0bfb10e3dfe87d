import {
  CreateError,
  SessionInterrupted,
  SessionKeyError,
  SessionReadOnly,
  SessionReservedKeyError,
  SessionStoreUnavailable,
  UpdateError,
} from '../errors.js'
import type { SessionEngine, SessionWrite } from './engine.js'
import { newSessionKey, validKey } from './keys.js'
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

export const EXPIRY_KEY = '_session_expiry'
export const TEST_COOKIE_NAME = 'testcookie'
export const TEST_COOKIE_VALUE = 'worked'
/** Django's `create()` gives up on a cache after 10 000 tries (behaviour 91); a 165-bit key collides far sooner only on a broken store. */
const CREATE_ATTEMPTS = 100

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
  #forceWriteAll = false
  #key: string | null
  #data: Map<string, unknown> | null = null
  #loading: Promise<Map<string, unknown>> | null = null
  #changed = new Set<string>()
  #deleted = new Set<string>()
  #replace = false
  /** True once this object has written its current state: a second save with nothing new is skipped. */
  #persisted = false
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
   * Set it to `true` after changing a nested value in place, which edge-session cannot see (behaviour 14).
   */
  get modified(): boolean {
    return this.#modified
  }

  set modified(value: boolean) {
    if (value) {
      this.#writable('modified')
      this.#forceWriteAll = true
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
      if (record) data = new Map(Object.entries(record))
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
    this.#changed.add(key)
    this.#deleted.delete(key)
    this.#modified = true
    this.#changedSinceSave()
  }

  #remove(data: Map<string, unknown>, key: string): void {
    data.delete(key)
    this.#deleted.add(key)
    this.#changed.delete(key)
    this.#modified = true
    this.#changedSinceSave()
  }

  // ---- the dict API (catalogue §2.1) ----------------------------------------

  async aget<K extends keyof T & string>(key: K): Promise<T[K] | undefined>
  async aget<K extends keyof T & string>(key: K, defaultValue: T[K]): Promise<T[K]>
  async aget(key: string, defaultValue?: unknown): Promise<unknown> {
    const data = await this.#session()
    return data.has(key) ? data.get(key) : defaultValue
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
    if (data.has(key)) return data.get(key) as T[K]
    this.#checkKey('asetdefault', key)
    this.#put(data, key, value)
    return value
  }

  async akeys(): Promise<string[]> {
    return [...(await this.#session()).keys()]
  }

  async avalues(): Promise<unknown[]> {
    return [...(await this.#session()).values()]
  }

  async aitems(): Promise<[string, unknown][]> {
    return [...(await this.#session()).entries()]
  }

  /** Empties the data without loading it; sets `accessed` and `modified` (behaviours 13, 26). */
  async aclear(): Promise<void> {
    this.#writable('aclear')
    this.#data = new Map()
    this.#changed.clear()
    this.#deleted.clear()
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
    await this.aclear()
    const key = this.#key
    this.#key = null
    if (key !== null) await this.#engine.delete(key)
  }

  /**
   * Keeps the data under a new key and makes the old key stop loading: call it at login
   * against session fixation. The new record is written before this returns.
   */
  async acycleKey(): Promise<void> {
    this.#writable('acycleKey')
    await this.#session()
    const oldKey = this.#key
    await this.#create(oldKey)
  }

  /**
   * Writes the session to the store now. The Next.js adapter calls it for you; call it yourself
   * in scripts and jobs. Throws `SessionInterrupted` if the session was deleted meanwhile.
   */
  async asave(): Promise<void> {
    this.#writable('asave')
    if (this.#persisted && this.#key !== null) return
    await this.#session()
    if (this.#key === null) return this.#create(null)
    const generation = this.#generation
    try {
      this.#key = await this.#engine.save(this.#key, this.#write(false), { mustCreate: false })
    } catch (err) {
      if (err instanceof UpdateError) throw new SessionInterrupted({ cause: err })
      throw err
    }
    this.#saved(generation)
  }

  async #create(oldKey: string | null): Promise<void> {
    const generation = this.#generation
    const write = this.#write(true)
    for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
      const key = newSessionKey()
      try {
        if (oldKey !== null && this.#engine.cycle) {
          this.#key = await this.#engine.cycle(oldKey, key, write)
        } else {
          this.#key = await this.#engine.save(key, write, { mustCreate: true })
          if (oldKey !== null) await this.#engine.delete(oldKey)
        }
        this.#modified = true
        this.#saved(generation)
        return
      } catch (err) {
        if (!(err instanceof CreateError)) throw err
      }
    }
    // 100 collisions of 165-bit random keys mean a broken store, not bad luck: fail closed.
    throw new SessionStoreUnavailable(`the store reported ${CREATE_ATTEMPTS} fresh random keys in a row as taken`)
  }

  #write(asNew: boolean): SessionWrite {
    const data = this.#data ?? new Map<string, unknown>()
    return {
      data,
      changed: asNew || this.#forceWriteAll ? new Set(data.keys()) : new Set(this.#changed),
      deleted: new Set(this.#deleted),
      replace: asNew || this.#replace,
      expiryAge: this.#expiryAge(data.get(EXPIRY_KEY), new Date()),
    }
  }

  #changedSinceSave(): void {
    this.#persisted = false
    this.#generation++
  }

  /**
   * After a write of the state as it was at `generation`. A change that landed while the engine was
   * busy may or may not be in that write, so its tracking stays and the next save writes it again.
   */
  #saved(generation: number): void {
    if (generation !== this.#generation) return
    this.#changed.clear()
    this.#deleted.clear()
    this.#replace = false
    this.#forceWriteAll = false
    this.#persisted = true
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
      stored = value.toISOString()
    } else if (typeof value === 'number' && Number.isFinite(value)) {
      stored = value
    } else {
      throw new TypeError('session.asetExpiry() takes a number of seconds, a Date, 0 (browser close) or null (the global age).')
    }
    this.#put(data, EXPIRY_KEY, stored)
  }

  #expiryAge(expiry: unknown, modification: Date): number {
    if (!expiry) return this.#settings.cookieAge
    if (typeof expiry === 'number') return expiry
    const at = expiry instanceof Date ? expiry : new Date(String(expiry))
    // A garbled stored expiry means "expired", never "forever".
    if (Number.isNaN(at.getTime())) return 0
    // Whole seconds, floored toward -∞ like Python's timedelta (behaviour 54).
    return Math.floor((at.getTime() - modification.getTime()) / 1000)
  }

  async #storedExpiry(options: ExpiryOptions): Promise<unknown> {
    return 'expiry' in options ? options.expiry : (await this.#session()).get(EXPIRY_KEY)
  }

  /** Seconds until expiry, measured from `modification` (now). Without a custom expiry: `cookieAge`. */
  async agetExpiryAge(options: ExpiryOptions = {}): Promise<number> {
    return this.#expiryAge(await this.#storedExpiry(options), options.modification ?? new Date())
  }

  async agetExpiryDate(options: ExpiryOptions = {}): Promise<Date> {
    const expiry = await this.#storedExpiry(options)
    if (expiry instanceof Date) return expiry
    if (typeof expiry === 'string') return new Date(expiry)
    const modification = options.modification ?? new Date()
    const seconds = typeof expiry === 'number' && expiry !== 0 ? expiry : this.#settings.cookieAge
    return new Date(modification.getTime() + seconds * 1000)
  }

  /** Catalogue item 60: the global setting when no expiry is set, else whether the expiry is 0. */
  async agetExpireAtBrowserClose(): Promise<boolean> {
    const expiry = (await this.#session()).get(EXPIRY_KEY)
    if (expiry === undefined || expiry === null) return this.#settings.expireAtBrowserClose
    return expiry === 0
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

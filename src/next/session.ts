import { cookies } from 'next/headers.js'
// Without `.js`, unlike the imports above: Next aliases this exact name to its server build of navigation;
// `next/navigation.js` would pull the client router into route handlers, which fail to build.
import { redirect } from 'next/navigation'
import { connection } from 'next/server.js'
import { cache } from 'react'
import { commitSession } from '../core/http.js'
import { stampWrite } from '../core/refresh.js'
import { Session, type Expiry } from '../core/session.js'
import type { SessionStore } from '../store.js'
import { SessionReadOnly, SessionRequired } from '../errors.js'

type CookieJar = Awaited<ReturnType<typeof cookies>>

/**
 * A session that commits itself: every mutating call writes the store and sets the cookie on
 * Next's response before its promise resolves, so a `redirect()` (which throws) or an early
 * return can never lose a change. Mutations run one after another, each with its own commit.
 */
class WriteThroughSession<T extends object> extends Session<T> {
  readonly #jar: CookieJar
  #hadCookie: boolean
  /** The last mutation in line: each one, change then commit, starts only after the previous one finished. */
  #line: Promise<unknown> = Promise.resolve()
  /** Set while commitSession() runs: its own asave() call must reach the core, not queue behind itself. */
  #committing = false
  /** Set while aflush() runs: its inner aclear() must not commit before the store delete. */
  #flushing = false

  constructor(store: SessionStore<T>, jar: CookieJar) {
    const value = jar.get(store.settings.cookieName)?.value
    super(store.engine, store.settings, value)
    this.#jar = jar
    this.#hadCookie = value !== undefined
  }

  /**
   * Queues `change` and its commit behind every earlier mutation. Run side by side, a key cycle could
   * race a save of the old key, and the cookies set on the response could arrive out of order.
   */
  #mutate<R>(change: () => Promise<R>): Promise<R> {
    const run = this.#line
      .catch(() => {})
      .then(async () => {
        const result = await change()
        // Part of the commit's own write; a change that changed nothing (apop of a missing key) writes nothing.
        if (this.modified) await stampWrite(this)
        await this.#flush()
        return result
      })
    this.#line = run
    return run
  }

  async #flush(): Promise<void> {
    this.#committing = true
    let result
    try {
      result = await commitSession(this, { hadCookie: this.#hadCookie })
    } finally {
      this.#committing = false
    }
    if (!result.cookie) return
    try {
      this.#jar.set(result.cookie)
    } catch (err) {
      // Next refuses outside actions and route handlers (e.g. inside after()): say where to move the write.
      throw Object.assign(new SessionReadOnly('asave'), { cause: err })
    }
    this.#hadCookie = result.cookie.value !== ''
  }

  override aset<K extends keyof T & string>(key: K, value: T[K]): Promise<void> {
    return this.#mutate(() => super.aset(key, value))
  }

  override adelete<K extends keyof T & string>(key: K): Promise<void> {
    return this.#mutate(() => super.adelete(key))
  }

  override apop<K extends keyof T & string>(key: K, ...rest: [] | [defaultValue: T[K]]): Promise<T[K]> {
    return this.#mutate(() => super.apop(key, ...rest))
  }

  override aupdate(values: Partial<T>): Promise<void> {
    return this.#mutate(() => super.aupdate(values))
  }

  override asetdefault<K extends keyof T & string>(key: K, value: T[K]): Promise<T[K]> {
    return this.#mutate(() => super.asetdefault(key, value))
  }

  override aclear(): Promise<void> {
    // aflush() calls aclear() first: its own commit follows the store delete.
    return this.#flushing ? super.aclear() : this.#mutate(() => super.aclear())
  }

  override aflush(): Promise<void> {
    return this.#mutate(async () => {
      this.#flushing = true
      try {
        await super.aflush()
      } finally {
        this.#flushing = false
      }
    })
  }

  override acycleKey(): Promise<void> {
    return this.#mutate(async () => {
      // Stamped before the cycle writes, so the commit after it has nothing new to write.
      await stampWrite(this)
      await super.acycleKey()
    })
  }

  override asetExpiry(value: Expiry): Promise<void> {
    return this.#mutate(() => super.asetExpiry(value))
  }

  override asetTestCookie(): Promise<void> {
    return this.#mutate(() => super.asetTestCookie())
  }

  override adeleteTestCookie(): Promise<void> {
    return this.#mutate(() => super.adeleteTestCookie())
  }

  /** Commits now: needed only after changing a nested value in place and setting `modified = true`. */
  override asave(): Promise<void> {
    return this.#committing ? super.asave() : this.#mutate(async () => {})
  }
}

/**
 * `getSession()` for a store: read-only and loaded once per request in server components,
 * read-write with automatic commits in server actions and route handlers.
 */
export function sessionGetter<T extends object>(store: SessionStore<T>): () => Promise<Session<T>> {
  // React memoises cache() functions only while it renders server components (react.dev/reference/react/cache:
  // "outside of a component … will not use the cache"). Two calls giving one object therefore means we are
  // rendering, where Next forbids cookie writes; in actions and route handlers they give two objects.
  const renderMarker = cache(() => ({}))
  const renderSession = cache(async () => {
    // Loading reads the clock (expiry). With Cache Components, Next reports a clock read during a render
    // unless the render has opted into request time first; a session is per request anyway.
    await connection()
    return store.open((await cookies()).get(store.settings.cookieName)?.value, { readOnly: true })
  })
  // Outside React's render there is no cache(): one session per request's cookie jar instead.
  const writable = new WeakMap<CookieJar, WriteThroughSession<T>>()

  return async function getSession(): Promise<Session<T>> {
    if (renderMarker() === renderMarker()) return renderSession()
    const jar = await cookies()
    let session = writable.get(jar)
    if (!session) {
      session = new WriteThroughSession(store, jar)
      writable.set(jar, session)
    }
    return session
  }
}

/** Who may go on: `async (session) => (await session.aget('user')) !== undefined`. */
export type SessionAllow<T extends object> = (session: Session<T>) => boolean | Promise<boolean>

export interface RequireSessionOptions {
  /**
   * Where a refused request is sent, with Next's `redirect()` (a 303 from a server action, a 307 from a
   * route handler or page). `false` throws `SessionRequired` instead, for a route handler to answer 401.
   * Default `/login`.
   */
  loginUrl?: string | false
}

/**
 * `requireSession(allow)`: the guard a server action or route handler needs because the middleware
 * cannot give it one. An action is a POST to the page's own path, and the page being public (or the
 * matcher skipping it) must not make the action public too.
 */
export function sessionRequirer<T extends object>(
  getSession: () => Promise<Session<T>>,
): (allow: SessionAllow<T>, options?: RequireSessionOptions) => Promise<Session<T>> {
  return async function requireSession(allow, options = {}) {
    const session = await getSession()
    if (await allow(session)) return session
    const loginUrl = options.loginUrl ?? '/login'
    if (loginUrl === false) throw new SessionRequired()
    redirect(loginUrl)
  }
}

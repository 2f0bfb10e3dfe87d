/**
 * The portable suite: bundled with esbuild for each runtime of the matrix (test/runtimes/matrix.test.ts) and run
 * there through a host (test/runtimes/hosts/*), unchanged. Every call takes and returns JSON-safe data: results cross
 * a process, an HTTP request or a realm on their way back to vitest.
 *
 * It drives the public API only, through the fixtures the EdgeVM suites already use, so "the same suite" is literal.
 */
import { cookieEngine, createSessionStore, type JsonValue, SessionConfigError } from '../../src/index.js'
import { lifecycle as cookieLifecycle, load, save, tamper, type EngineKind, type Loaded } from '../fixtures/edge-app.js'
import { lifecycle as upstashLifecycle, unreachable } from '../fixtures/upstash-edge-app.js'
import { upstashEngine } from '../../src/engines/upstash.js'

/** JSON far over the 4096-byte cookie limit that deflates well under it: only compression makes it fit. */
export const LARGE: Record<string, JsonValue> = {
  history: Array.from({ length: 120 }, (_, i) => ({ path: `/products/category-${i % 7}/item`, visitedAt: 1_700_000_000 + i, ok: i % 3 !== 0 })),
  note: 'ünïcödé ✓ '.repeat(40),
}
export const SMALL: Record<string, JsonValue> = { user: { id: 42, name: 'Zoë ☃', roles: ['admin'] }, cart: [1, 2.5, null] }

export interface Minted {
  kind: EngineKind
  what: 'small' | 'large' | 'expired' | 'tampered' | 'fallback'
  token: string
}

/** Tokens for every other runtime to open: both cookie modes, small and compressed, expired, tampered, old-secret. */
async function mint(secret: string, oldSecret: string): Promise<Minted[]> {
  const out: Minted[] = []
  for (const kind of ['signed', 'encrypted'] as const) {
    const small = await save(kind, secret, SMALL)
    out.push({ kind, what: 'small', token: small })
    out.push({ kind, what: 'large', token: await save(kind, secret, LARGE) })
    out.push({ kind, what: 'expired', token: await save(kind, secret, SMALL, -1) })
    out.push({ kind, what: 'tampered', token: tamper(small) })
    out.push({ kind, what: 'fallback', token: await save(kind, oldSecret, SMALL) })
  }
  return out
}

/** Opens each token with `secret` (and `oldSecret` as a fallback), in its own engine. */
async function open(secret: string, oldSecret: string, minted: Minted[]): Promise<Loaded[]> {
  return Promise.all(minted.map((m) => load(m.kind, secret, m.token, [oldSecret])))
}

/** Facts that tell the runtimes apart, so a host that quietly ran somewhere else is caught. */
function runtime() {
  const g = globalThis as { Deno?: unknown; Bun?: unknown; EdgeRuntime?: unknown; document?: unknown; navigator?: { userAgent?: string } }
  const proc = (globalThis as { process?: { versions?: Record<string, string>; getBuiltinModule?: unknown } }).process
  const versions = proc?.versions
  return {
    // Where Node's crypto and zlib can be had, the cookie engine signs and deflates with them (src/lib/hs256.ts).
    nodeBuiltins: typeof proc?.getBuiltinModule === 'function',
    deno: typeof g.Deno,
    bun: typeof g.Bun,
    edgeRuntime: typeof g.EdgeRuntime,
    document: typeof g.document,
    userAgent: g.navigator?.userAgent ?? null,
    node: versions?.node ?? null,
  }
}

/** What the core reads from the environment here, and whether a refused read stops it. */
function environment(secret: string) {
  let withoutSecret: { code: string; option: string } | { thrown: string }
  try {
    createSessionStore()
    withoutSecret = { thrown: 'nothing' }
  } catch (err) {
    withoutSecret = err instanceof SessionConfigError ? { code: err.code, option: err.option } : { thrown: `${(err as Error).name}: ${(err as Error).message}` }
  }
  const store = createSessionStore({ secret, engine: cookieEngine() })
  return { withoutSecret, cookieSecure: store.settings.cookieSecure, secretFallbacks: store.settings.secretFallbacks }
}

/** A session created here on the Upstash engine, for other runtimes to read back through the same Redis. */
async function upstashCreate(url: string, token: string, secret: string, prefix: string, data: Record<string, JsonValue>) {
  const store = createSessionStore({ secret, engine: upstashEngine({ redis: { url, token }, prefix }) })
  const session = store.open()
  await session.aupdate(data)
  await session.asave()
  return session.sessionKey!
}

async function upstashRead(url: string, token: string, secret: string, prefix: string, keys: string[]) {
  const store = createSessionStore({ secret, engine: upstashEngine({ redis: { url, token }, prefix }) })
  return Promise.all(keys.map(async (key) => ({ key, items: await store.open(key).aitems() })))
}

/** Ends a session here that another runtime created: it must stop loading everywhere. */
async function upstashFlush(url: string, token: string, secret: string, prefix: string, key: string) {
  const store = createSessionStore({ secret, engine: upstashEngine({ redis: { url, token }, prefix }) })
  const session = store.open(key)
  await session.aflush()
  return session.sessionKey
}

const benchTokens = new Map<string, string[]>()

/**
 * `n` cookie reads or writes, for bench/runtimes.ts, which times the call from outside: workerd's clock stands still
 * while a request computes. A read opens a different cookie each time: the engine remembers the last 256 cookies it
 * verified, and one repeated cookie would measure that cache, not the crypto.
 */
async function bench(kind: EngineKind, secret: string, op: 'read' | 'write', n: number): Promise<number> {
  const id = `${kind} ${secret}`
  let tokens = benchTokens.get(id)
  if (!tokens) {
    tokens = []
    for (let i = 0; i < 512; i++) tokens.push(await save(kind, secret, { ...SMALL, i }))
    benchTokens.set(id, tokens)
  }
  for (let i = 0; i < n; i++) {
    if (op === 'read') await load(kind, secret, tokens[i % tokens.length]!)
    else await save(kind, secret, { ...SMALL, i })
  }
  return n
}

export const calls = { runtime, cookieLifecycle, mint, open, environment, upstashLifecycle, upstashCreate, upstashRead, upstashFlush, unreachable, bench }
export type Calls = typeof calls
export type CallName = keyof Calls

export interface Call {
  fn: CallName
  args: unknown[]
}
export type Outcome = { ok: true; value: unknown } | { ok: false; error: { name: string; message: string; code?: string } }

/** Runs one call; an exception comes back as data, so a host never dies of a failed test. */
export async function run(call: Call): Promise<Outcome> {
  try {
    const fn = calls[call.fn] as (...args: unknown[]) => unknown
    if (typeof fn !== 'function') throw new Error(`no such call: ${String(call.fn)}`)
    return { ok: true, value: await fn(...call.args) }
  } catch (err) {
    const e = err as { name?: string; message?: string; code?: string }
    return { ok: false, error: { name: String(e?.name), message: String(e?.message), ...(e?.code ? { code: e.code } : {}) } }
  }
}

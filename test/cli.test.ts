/**
 * `npx edge-session <command>`: the real binary (package.json "bin", compiled to dist/), run as a user would,
 * against cookies our engines and Django wrote and sessions on Upstash (real Redis behind our REST server).
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cookieEngine } from '../src/engines/cookie.js'
import { djangoCookieEngine } from '../src/engines/django-cookie.js'
import { upstashEngine } from '../src/engines/upstash.js'
import { createSessionStore, type SessionStoreOptions } from '../src/store.js'
import { userSessions } from '../src/users/index.js'
import { django, djangoVersion } from './support/django.js'
import { ensureDist, ROOT } from './support/next-server.js'
import { uniquePrefix, upstashFixture } from './support/upstash.js'

const SECRET = 'cli test secret of at least thirty-two bytes'
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> }
const BIN = join(ROOT, pkg.bin['edge-session']!)

/** Runs the binary. Asynchronously: the Upstash REST server it talks to lives in this process. */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const environment: NodeJS.ProcessEnv = { NODE_ENV: 'test', PATH: process.env.PATH, SESSION_SECRET: SECRET, ...env }
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { encoding: 'utf8', env: environment }, (error: Error & { code?: unknown } | null, stdout: string, stderr: string) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr })
    })
  })
}

async function cookieFor(engine: NonNullable<SessionStoreOptions['engine']>, data: Record<string, unknown>, expiry?: number): Promise<string> {
  const session = createSessionStore({ secret: SECRET, engine }).open()
  await session.aupdate(data)
  if (expiry !== undefined) await session.asetExpiry(expiry)
  await session.asave()
  return session.sessionKey!
}

beforeAll(() => {
  ensureDist()
}, 120_000)

describe('the binary', () => {
  it('is package.json "bin" and says what it does with --help, each command too', async () => {
    const help = await cli(['--help'])
    expect(help.code).toBe(0)
    for (const command of ['secret', 'decode', 'sessions', 'end', 'clearsessions']) {
      expect(help.stdout).toContain(`edge-session ${command}`)
      const own = await cli([command, '--help'])
      expect(own.code).toBe(0)
      expect(own.stdout).toMatch(new RegExp(`^Usage: edge-session ${command}`))
    }
  })

  it('exits 2 with the usage for no command, an unknown command, an unknown option or a missing argument', async () => {
    for (const args of [[], ['frobnicate'], ['secret', '--loud'], ['decode'], ['sessions'], ['end', '42']]) {
      const run = await cli(args)
      expect(run.code, args.join(' ')).toBe(2)
      expect(run.stdout + run.stderr).toMatch(/Usage: edge-session/)
    }
  })
})

describe('secret', () => {
  it('prints a new 32-byte secret each time, which the library accepts', async () => {
    const a = (await cli(['secret'])).stdout.trim()
    const b = (await cli(['secret'])).stdout.trim()
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(a).not.toBe(b)
    expect(() => createSessionStore({ secret: a })).not.toThrow()
  })
})

describe('decode', () => {
  const user = { id: 42, name: 'Zoë ☃' }

  it('verifies a signed cookie with SESSION_SECRET and prints its data and expiry', async () => {
    const cookie = await cookieFor(cookieEngine(), { user, note: 'x'.repeat(300) }, 3600)
    const run = await cli(['decode', cookie])
    expect(run.code).toBe(0)
    const out = JSON.parse(run.stdout) as { data: Record<string, unknown>; expires: string }
    expect(out.data).toEqual({ user, note: 'x'.repeat(300), _session_expiry: 3600 })
    expect(Math.abs(Date.parse(out.expires) - (Date.now() + 3600_000))).toBeLessThan(10_000)
  })

  it('verifies an encrypted cookie, and a Django signed cookie', async () => {
    const encrypted = await cli(['decode', await cookieFor(cookieEngine({ encrypt: true }), { user })])
    expect(encrypted.code).toBe(0)
    expect(JSON.parse(encrypted.stdout).data).toEqual({ user })
    const djangoCookie = await cookieFor(djangoCookieEngine(), { user })
    const fromDjangoEngine = await cli(['decode', djangoCookie], { SESSION_COOKIE_AGE: '600' })
    expect(fromDjangoEngine.code).toBe(0)
    const out = JSON.parse(fromDjangoEngine.stdout) as { data: unknown; expires: string }
    expect(out.data).toEqual({ user })
    expect(Math.abs(Date.parse(out.expires) - (Date.now() + 600_000))).toBeLessThan(10_000)
  })

  it('exits 1 and prints no data for a cookie signed with another secret, tampered or expired', async () => {
    const other = await cookieFor(cookieEngine(), { user })
    for (const [cookie, env] of [
      [other, { SESSION_SECRET: 'a different secret, also thirty-two bytes+' }],
      [other.slice(0, -2) + (other.endsWith('AA') ? 'BB' : 'AA'), {}],
    ] as const) {
      const run = await cli(['decode', cookie], env)
      expect(run.code).toBe(1)
      expect(run.stdout).toBe('')
      expect(run.stderr).toMatch(/does not verify/)
    }
    // An old secret in SESSION_SECRET_FALLBACKS verifies, as in the app.
    expect((await cli(['decode', other], { SESSION_SECRET: 'a different secret, also thirty-two bytes+', SESSION_SECRET_FALLBACKS: SECRET })).code).toBe(0)
  })

  it('--no-verify prints the payload of a signed cookie with a warning, and refuses an encrypted one', async () => {
    const cookie = await cookieFor(cookieEngine(), { user, note: 'y'.repeat(300) })
    const run = await cli(['decode', cookie, '--no-verify'], { SESSION_SECRET: '' })
    expect(run.code).toBe(0)
    expect(run.stderr).toMatch(/WARNING: not verified/)
    expect(JSON.parse(run.stdout).data).toEqual({ user, note: 'y'.repeat(300) })
    const sealed = await cli(['decode', await cookieFor(cookieEngine({ encrypt: true }), { user }), '--no-verify'])
    expect(sealed.code).toBe(1)
    expect(sealed.stdout).toBe('')
  })

  it('says what is wrong without SESSION_SECRET, and for something that is no session cookie', async () => {
    const noSecret = await cli(['decode', 'a.b.c'], { SESSION_SECRET: '' })
    expect(noSecret.code).toBe(1)
    expect(noSecret.stderr).toMatch(/SESSION_SECRET/)
    const garbage = await cli(['decode', 'not-a-cookie'])
    expect(garbage.code).toBe(1)
    expect(garbage.stderr).toMatch(/not a session cookie/)
  })

  const version = djangoVersion()
  it.skipIf(!version)("decodes a cookie real Django made (Django's get_decoded())", async () => {
    const { cookie } = django<{ cookie: string }>({ op: 'save', secret: SECRET, data: { user } })
    const run = await cli(['decode', cookie])
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout).data).toEqual({ user })
  })
})

const fx = await upstashFixture()
afterAll(() => fx?.close())

describe.skipIf(!fx)('sessions, end and clearsessions on Upstash', () => {
  it("lists a user's sessions, ends one, then all; clearsessions has nothing to sweep", async () => {
    const env = { SESSION_ENGINE: 'upstash', UPSTASH_REDIS_REST_URL: fx!.server.url, UPSTASH_REDIS_REST_TOKEN: fx!.server.token }
    const store = createSessionStore({ secret: SECRET, engine: upstashEngine({ redis: { url: fx!.server.url, token: fx!.server.token } }) })
    const users = userSessions(store)
    const userId = uniquePrefix('cli-user')
    const keys: string[] = []
    for (const label of ['Firefox on Linux', 'Safari on iOS', 'Chrome on Windows']) {
      const session = store.open()
      await users.alogin(session, userId, { label })
      await session.aset('cart', 'x'.repeat(100))
      await session.asave()
      keys.push(session.sessionKey!)
    }
    const listed = await cli(['sessions', userId], env)
    expect(listed.code, listed.stderr).toBe(0)
    const rows = JSON.parse(listed.stdout) as { id: string; label: string }[]
    expect(rows.map((r) => r.label)).toEqual(['Firefox on Linux', 'Safari on iOS', 'Chrome on Windows'])
    // The ids are not the cookies: nothing listed loads a session.
    for (const row of rows) expect(keys).not.toContain(row.id)

    expect((await cli(['end', userId, rows[1]!.id], env)).code).toBe(0)
    expect(await store.open(keys[1]).aget('cart' as never)).toBeUndefined()
    expect(await store.open(keys[0]).aget('cart' as never)).toBe('x'.repeat(100))
    expect((JSON.parse((await cli(['sessions', userId], env)).stdout) as unknown[]).length).toBe(2)

    expect((await cli(['end', userId, '--all'], env)).code).toBe(0)
    expect(JSON.parse((await cli(['sessions', userId], env)).stdout)).toEqual([])
    expect(await store.open(keys[0]).aget('cart' as never)).toBeUndefined()

    const sweep = await cli(['clearsessions'], env)
    expect(sweep.code).toBe(0)
    expect(sweep.stdout).toMatch(/Redis expires sessions itself/)
  })

  it('exits 1 with a clear message when the store cannot be reached', async () => {
    const run = await cli(['sessions', '42'], { SESSION_ENGINE: 'upstash', UPSTASH_REDIS_REST_URL: 'http://127.0.0.1:9', UPSTASH_REDIS_REST_TOKEN: 't' })
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/unavailable/i)
  })
})

describe('clearsessions on the cookie engine', () => {
  it('has nothing to sweep and says so, exiting 0 for cron jobs', async () => {
    const run = await cli(['clearsessions'], { SESSION_ENGINE: 'cookie' })
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/live in the browser/)
    expect((await cli(['clearsessions'], { SESSION_ENGINE: 'mongo' })).code).toBe(2)
  })
})

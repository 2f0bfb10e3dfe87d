/**
 * examples/hono, the README's worked example of the core outside Next.js, served for real: as a Cloudflare Worker in
 * workerd (the compatibility date its wrangler.toml pins, no Node compatibility) with encrypted cookies and with
 * Upstash, and as a Bun server. Each is driven over HTTP with a hand-kept cookie jar, as a browser would.
 */
import { spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort } from '../support/ports.js'
import { upstashFixture } from '../support/upstash.js'
import { binary, BUN_TARGET, bundle, missing, OLD_COMPATIBILITY_DATE, ROOT, scratch, startWorkerd } from './launch.js'

const SECRET = 'hono example secret, thirty-two bytes or more'

const fx = await upstashFixture()
const { dir, remove } = await scratch()
const example = 'examples/hono/src/app.ts'
const workers =
  (await startWorkerd(dir, [
    { name: 'workerd, encrypted cookies', compatibilityDate: OLD_COMPATIBILITY_DATE, entry: example, bindings: { SESSION_SECRET: SECRET } },
    ...(fx
      ? [{ name: 'workerd, Upstash', compatibilityDate: OLD_COMPATIBILITY_DATE, entry: example, bindings: { SESSION_SECRET: SECRET, UPSTASH_REDIS_REST_URL: fx.server.url, UPSTASH_REDIS_REST_TOKEN: fx.server.token } }]
      : []),
  ])) ?? []

/** The Bun server of examples/hono/src/bun.ts, on a free port. */
async function startBunExample(): Promise<{ name: string; url: string; close(): Promise<void> } | null> {
  const bun = binary('bun')
  if (!bun) return missing('bun', 'node_modules/.bin/bun is missing: run npm install (bun is a devDependency).')
  const file = join(dir, 'hono-bun.mjs')
  await writeFile(file, await bundle('examples/hono/src/bun.ts', BUN_TARGET))
  const port = await freePort()
  const child = spawn(bun, ['run', '--no-install', file], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '', SESSION_SECRET: SECRET, PORT: String(port) } as unknown as NodeJS.ProcessEnv })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const gone = new Promise<void>((resolve) => child.once('close', () => resolve()))
  const url = `http://127.0.0.1:${port}`
  for (let tries = 0; !(await fetch(url, { method: 'HEAD' }).then(() => true, () => false)); tries++) {
    if (child.exitCode !== null || tries > 300) throw new Error(`the Bun example did not start. stderr:\n${stderr}`)
    await sleep(100)
  }
  return { name: 'bun, encrypted cookies', url, close: async () => void (child.kill('SIGTERM'), await gone) }
}
const bunServer = await startBunExample()
const servers = [...workers.map((w) => ({ name: w.name, url: w.url!, close: w.close })), ...(bunServer ? [bunServer] : [])]

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()))
  await remove()
  await fx?.close()
})

/** A browser's cookie handling, reduced to the one cookie. */
class Visitor {
  cookie: string | undefined
  constructor(private readonly base: string) {}

  async request(path: string, form?: Record<string, string>) {
    const res = await fetch(this.base + path, {
      method: form ? 'POST' : 'GET',
      headers: this.cookie ? { cookie: `sessionid=${this.cookie}` } : {},
      ...(form ? { body: new URLSearchParams(form) } : {}),
    })
    const setCookie = res.headers.get('set-cookie')
    if (setCookie) {
      const value = /^sessionid=([^;]*)/.exec(setCookie)![1]!
      this.cookie = /Max-Age=0/.test(setCookie) ? undefined : value
    }
    return { status: res.status, body: (await res.json()) as Record<string, unknown>, setCookie, vary: res.headers.get('vary') }
  }
}

it('the example is served in workerd and Bun (missing runtimes are a skip here, an error under CI=true)', () => {
  expect(servers.length).toBeGreaterThan(0)
  if (process.env.CI === 'true') expect(servers).toHaveLength(3)
})

describe.each(servers.map((s) => [s.name, s] as const))('examples/hono on %s', (name, server) => {
  it('counts visits, logs in on a new key, logs out; a tampered cookie is a fresh session', async () => {
    const ada = new Visitor(server.url)
    const first = await ada.request('/')
    expect(first.body).toEqual({ visits: 1, user: null })
    expect(first.setCookie).toMatch(/^sessionid=[^;]+; Expires=.+; HttpOnly; Max-Age=1209600; Path=\/; SameSite=Lax; Secure$/)
    expect(first.vary).toBe('Cookie')
    expect((await ada.request('/')).body).toEqual({ visits: 2, user: null })
    expect((await ada.request('/me')).status).toBe(401)

    const before = ada.cookie!
    expect((await ada.request('/login', { name: 'ada' })).body).toEqual({ user: 'ada' })
    expect(ada.cookie).not.toBe(before)
    expect((await ada.request('/me')).body).toEqual({ user: 'ada' })
    expect((await ada.request('/')).body).toEqual({ visits: 3, user: 'ada' })

    const signedIn = ada.cookie!
    const out = await ada.request('/logout', {})
    expect(out.setCookie).toMatch(/^sessionid=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=\/; SameSite=Lax; Secure$/)
    expect(ada.cookie).toBeUndefined()
    expect((await ada.request('/me')).status).toBe(401)

    // A copy of the signed-in cookie: Upstash ended the session; a cookie cannot be revoked (README, Engines).
    const replay = new Visitor(server.url)
    replay.cookie = signedIn
    expect((await replay.request('/me')).status).toBe(name.includes('Upstash') ? 401 : 200)

    const mallory = new Visitor(server.url)
    mallory.cookie = signedIn.slice(0, -2) + (signedIn.endsWith('AA') ? 'BB' : 'AA')
    expect((await mallory.request('/')).body).toEqual({ visits: 1, user: null })
  })
})

it("the README's worked example is the example's code, line for line", async () => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
  const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('### Worked example: Hono')))![1]!
  const source = await readFile(join(ROOT, 'examples/hono/src/session.ts'), 'utf8')
  const lines = block.split('\n').filter((line) => line.trim() && !line.startsWith('//'))
  expect(lines.length).toBeGreaterThan(10)
  for (const line of lines) expect(source, line).toContain(line)
})

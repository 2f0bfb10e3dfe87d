/**
 * The same gate as the demo's middleware.ts, built as a Next 16 proxy.ts, which runs on Node:
 * a copy of the app in test/.tmp with middleware.ts renamed, then next build + next start.
 * HTTP-level checks only; the browser suite covers the flows.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSessionStore } from '../../src/store.js'
import { buildApp, ROOT, startApp, TEST_SECRET, type AppServer } from '../support/next-server'

const APP = join(ROOT, 'test/.tmp/proxy-app')
const DIST = '.next'
const COPIED = ['app', 'lib', 'src', 'next.config.mjs', 'package.json', 'tsconfig.json']

/** Copies the demo, keeping timestamps so an unchanged copy is not rebuilt, and turns middleware.ts into proxy.ts. */
function prepareCopy(): void {
  mkdirSync(APP, { recursive: true })
  for (const entry of COPIED) {
    rmSync(join(APP, entry), { recursive: true, force: true })
    cpSync(join(ROOT, entry), join(APP, entry), { recursive: true, preserveTimestamps: true })
  }
  if (!existsSync(join(APP, 'node_modules'))) symlinkSync(join(ROOT, 'node_modules'), join(APP, 'node_modules'), 'dir')
  const middleware = readFileSync(join(ROOT, 'middleware.ts'), 'utf8')
  const proxy = middleware.replace('export async function middleware(', 'export async function proxy(')
  expect(proxy).not.toBe(middleware)
  writeIfChanged(join(APP, 'proxy.ts'), proxy)
  // A server component that tries to write: in real Next, not a mock, getSession() must refuse.
  mkdirSync(join(APP, 'app/render-write'), { recursive: true })
  writeIfChanged(join(APP, 'app/render-write/page.tsx'), RENDER_WRITE_PAGE)
}

const RENDER_WRITE_PAGE = `import { getSession } from '../../lib/session'

export default async function RenderWrite() {
  const session = await getSession()
  const outcome = await session.aset('fav_color', 'red').then(() => 'written', (err: { code?: string }) => err.code ?? 'other error')
  // Refused before the change: the memoised session still holds nothing (a refusal at commit time would leave 'red').
  const after = String(await session.aget('fav_color'))
  return <p id="outcome">{\`\${outcome} \${after}\`}</p>
}
`

function writeIfChanged(path: string, text: string): void {
  if (!existsSync(path) || readFileSync(path, 'utf8') !== text) writeFileSync(path, text)
}

let server: AppServer

beforeAll(async () => {
  prepareCopy()
  await buildApp({ cwd: APP, distDir: DIST })
  server = await startApp({ cwd: APP, distDir: DIST, env: { EDGE_SESSION_DEMO_TEST: '1', SESSION_ENGINE: 'cookie' } })
}, 600_000)

afterAll(async () => {
  await server?.stop()
})

describe('the demo gate as proxy.ts (Node runtime)', () => {
  it('is built as a Node.js proxy, not edge middleware', () => {
    const functions = JSON.parse(readFileSync(join(APP, DIST, 'server/functions-config-manifest.json'), 'utf8'))
    const middleware = JSON.parse(readFileSync(join(APP, DIST, 'server/middleware-manifest.json'), 'utf8'))
    expect(functions.functions['/_middleware'].runtime).toBe('nodejs')
    expect(middleware.middleware).toEqual({})
  })

  it('gates an anonymous visitor exactly as on the edge', async () => {
    const response = await fetch(`${server.url}/account`, { redirect: 'manual' })
    expect(response.status).toBe(307)
    expect(response.headers.get('location')).toBe('/login?next=/account')
    expect(response.headers.get('x-middleware-runtime')).toBe('nodejs')
  })

  it('lets a signed-in visitor through, slides the expiry, and the page renders the user', async () => {
    const store = createSessionStore({ secret: TEST_SECRET })
    const session = store.open()
    await session.aset('user', { username: 'ada', name: 'Ada Lovelace' })
    await session.asave()
    // The refresh re-signs with a later expiry; make sure a second has passed so the token differs.
    await new Promise((resolve) => setTimeout(resolve, 1100))
    const response = await fetch(`${server.url}/account`, { headers: { cookie: `sessionid=${session.sessionKey}` }, redirect: 'manual' })
    expect(response.status).toBe(200)
    const setCookie = response.headers.get('set-cookie') ?? ''
    const refreshed = /^sessionid=([^;]+)/.exec(setCookie)?.[1]
    expect(refreshed).toBeTruthy()
    expect(refreshed).not.toBe(session.sessionKey)
    expect(await response.text()).toContain('Ada Lovelace (ada)')
  })

  it('refuses a write from a server component with SessionReadOnly, and sets no cookie', async () => {
    const response = await fetch(`${server.url}/render-write`)
    expect(response.status).toBe(200)
    expect(await response.text()).toContain('<p id="outcome">ERR_SESSION_READ_ONLY undefined</p>')
    expect(response.headers.get('set-cookie')).toBeNull()
  })

  it('treats a tampered cookie as anonymous and deletes it, without a 500', async () => {
    const response = await fetch(`${server.url}/account`, { headers: { cookie: 'sessionid=eyJhbGciOiJIUzI1NiJ9.bm9wZQ.forged' }, redirect: 'manual' })
    expect(response.status).toBe(307)
    expect(response.headers.get('set-cookie')).toMatch(/^sessionid=;.*Max-Age=0/i)
  })
})

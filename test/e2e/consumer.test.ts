/**
 * edge-session as an app gets it from npm: `npm pack` of this repo unpacked into a small app's
 * node_modules (a real copy, never a symlink: Turbopack refuses files outside its root, and npm
 * follows a symlinked folder into the repo's node_modules). The app lives in test/.tmp so next,
 * react and jose resolve from the repo's node_modules, as an app's own dependencies would; only
 * edge-session comes from the tarball, through package.json "exports" to dist/.
 * Built with plain `next build` (Turbopack, Next 16's default), served by `next start`.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BUILD_LOG, buildApp, newestMtime, ROOT, startApp, type AppServer } from '../support/next-server'

const TMP = join(ROOT, 'test/.tmp')
const APP = join(TMP, 'consumer-app')
const PACKAGE = join(APP, 'node_modules/edge-session')
const DIST = '.next'

const FILES: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'edge-session-consumer', private: true, type: 'module' }, null, 2),
  // Turbopack's root is where it may read files from: the repo, which holds next, react and jose.
  'next.config.mjs': `export default { turbopack: { root: ${JSON.stringify(ROOT)} }, outputFileTracingRoot: ${JSON.stringify(ROOT)} }\n`,
  // An app's own tsconfig, as create-next-app writes it (Next would rewrite anything else), without
  // paths: 'edge-session/next' can only mean the package in node_modules, types from its .d.ts.
  'tsconfig.json': JSON.stringify(
    {
      compilerOptions: {
        target: 'ES2022',
        lib: ['dom', 'dom.iterable', 'esnext'],
        allowJs: true,
        skipLibCheck: true,
        strict: true,
        noEmit: true,
        esModuleInterop: true,
        module: 'esnext',
        moduleResolution: 'bundler',
        resolveJsonModule: true,
        isolatedModules: true,
        jsx: 'react-jsx',
        incremental: true,
        plugins: [{ name: 'next' }],
      },
      include: ['next-env.d.ts', '**/*.ts', '**/*.tsx', '.next/types/**/*.ts', '.next/dev/types/**/*.ts'],
      exclude: ['node_modules'],
    },
    null,
    2,
  ),
  'lib/session.ts': `import { createNextSession } from 'edge-session/next'

export interface AppSession {
  user?: { name: string }
}

export const { getSession, sessionMiddleware } = createNextSession<AppSession>()
`,
  'middleware.ts': `import type { NextRequest } from 'next/server'
import { sessionMiddleware } from './lib/session'

declare const EdgeRuntime: string | undefined

const gate = sessionMiddleware({
  protect: ['/account'],
  allow: async (session) => (await session.aget('user')) !== undefined,
  loginUrl: '/login',
})

export async function middleware(request: NextRequest) {
  const response = await gate(request)
  // Next's edge sandbox defines EdgeRuntime; Node does not.
  response.headers.set('x-runtime', typeof EdgeRuntime === 'string' ? 'edge' : 'nodejs')
  return response
}

export const config = { matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'] }
`,
  'app/layout.tsx': `import type { ReactNode } from 'react'

export default function Layout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  )
}
`,
  'app/actions.ts': `'use server'
import { redirect } from 'next/navigation'
import { getSession } from '../lib/session'

export async function login(formData: FormData): Promise<void> {
  const session = await getSession()
  await session.acycleKey()
  await session.aset('user', { name: String(formData.get('name')) })
  redirect('/account')
}
`,
  'app/login/page.tsx': `import { login } from '../actions'

export default function Login() {
  return (
    <form action={login}>
      <input name="name" />
      <button type="submit">Log in</button>
    </form>
  )
}
`,
  'app/account/page.tsx': `import { getSession } from '../../lib/session'

export default async function Account() {
  const user = await (await getSession()).aget('user')
  // Typed through the package's .d.ts: 'user' is AppSession['user'].
  return <p id="user">{user?.name ?? 'nobody'}</p>
}
`,
}

function writeIfChanged(path: string, text: string): void {
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return
  mkdirSync(join(path, '..'), { recursive: true })
  writeFileSync(path, text)
}

/**
 * Installs what `npm publish` would ship: dist/ rebuilt if src/ is newer, then `npm pack` (which
 * applies package.json "files") unpacked over node_modules/edge-session. Skipped when the copy is
 * newer than dist/ and package.json. No `npm install`: nothing here may touch the repo's node_modules.
 */
function installPackedPackage(): void {
  if (newestMtime(join(ROOT, 'src')) > newestMtime(join(ROOT, 'dist'))) {
    execFileSync('npm', ['run', 'build:lib'], { cwd: ROOT, stdio: 'pipe' })
  }
  const installed = join(PACKAGE, 'package.json')
  const current = Math.max(newestMtime(join(ROOT, 'dist')), newestMtime(join(ROOT, 'package.json')))
  if (existsSync(installed) && statSync(installed).mtimeMs > current) return
  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', TMP], { cwd: ROOT, encoding: 'utf8' }),
  ) as { filename: string }[]
  const tarball = join(TMP, packed!.filename)
  rmSync(PACKAGE, { recursive: true, force: true })
  mkdirSync(PACKAGE, { recursive: true })
  // -m: npm pack stamps every file 1985; today's time lets the build cache see the new copy.
  execFileSync('tar', ['-xzmf', tarball, '--strip-components=1', '-C', PACKAGE])
  rmSync(tarball)
}

/** Every file under `dir`, relative to it. */
function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
}

let server: AppServer

beforeAll(async () => {
  mkdirSync(APP, { recursive: true })
  for (const [path, text] of Object.entries(FILES)) writeIfChanged(join(APP, path), text)
  installPackedPackage()
  await buildApp({ cwd: APP, distDir: DIST, turbopack: true, sources: [...Object.keys(FILES), 'node_modules/edge-session'] })
  server = await startApp({ cwd: APP, distDir: DIST })
}, 300_000)

afterAll(async () => {
  await server?.stop()
})

describe('an app consuming the packed package, built with Turbopack', () => {
  it('gets the package as a real copy of what npm pack ships, beside nothing else', () => {
    expect(readdirSync(join(APP, 'node_modules'))).toEqual(['edge-session'])
    expect(lstatSync(PACKAGE).isSymbolicLink()).toBe(false)
    const files = listFiles(PACKAGE)
    expect(files).toContain('dist/next/index.js')
    expect(files).toContain('dist/next/index.d.ts')
    expect(files.filter((f) => !/^(dist|src)\/|^(package\.json|README\.md|LICENSE)$/.test(f))).toEqual([])
  })

  it('was built by Turbopack, with the middleware on the edge runtime', () => {
    const log = readFileSync(join(APP, DIST, BUILD_LOG), 'utf8')
    expect(log).toMatch(/Next\.js 16\.\d+\.\d+ \(Turbopack\)/)
    const manifest = JSON.parse(readFileSync(join(APP, DIST, 'server/middleware-manifest.json'), 'utf8'))
    const functions = JSON.parse(readFileSync(join(APP, DIST, 'server/functions-config-manifest.json'), 'utf8'))
    expect(manifest.middleware['/'].name).toBe('middleware')
    expect(functions.functions?.['/_middleware']).toBeUndefined()
  })

  it('bundles the package from node_modules into the edge middleware, never the repo sources', () => {
    const manifest = JSON.parse(readFileSync(join(APP, DIST, 'server/middleware-manifest.json'), 'utf8'))
    // The chunks are minified; their source maps name every module (through dist's maps, back to the package's src/).
    const sources = (manifest.middleware['/'].files as string[])
      .map((file) => join(APP, DIST, `${file}.map`))
      .filter((map) => existsSync(map))
      .flatMap((map) => (JSON.parse(readFileSync(map, 'utf8')) as { sources: string[] }).sources)
    expect(sources.filter((s) => s.includes('consumer-app/node_modules/edge-session/'))).toContainEqual(
      expect.stringMatching(/edge-session\/src\/next\/middleware\.ts$/),
    )
    // Only the app's own files and installed packages: the repo's src/ cannot have slipped in.
    expect(sources.filter((s) => !s.includes('/node_modules/')).sort()).toEqual([
      expect.stringMatching(/consumer-app\/lib\/session\.ts$/),
      expect.stringMatching(/consumer-app\/middleware\.ts$/),
    ])
  })

  it('gates /account for an anonymous visitor, on the edge', async () => {
    const response = await fetch(`${server.url}/account`, { redirect: 'manual' })
    expect(response.status).toBe(307)
    expect(response.headers.get('location')).toBe('/login?next=/account')
    expect(response.headers.get('x-runtime')).toBe('edge')
  })

  it('logs in through a server action and the server component renders the user', async () => {
    const form = await (await fetch(`${server.url}/login`)).text()
    const actionField = /name="(\$ACTION_ID_[0-9a-f]+)"/.exec(form)?.[1]
    expect(actionField, form).toBeTruthy()
    const body = new FormData()
    body.set(actionField!, '')
    body.set('name', 'Ada Lovelace')
    // The same-origin check Next applies to server actions wants an Origin header.
    const login = await fetch(`${server.url}/login`, { method: 'POST', body, headers: { origin: server.url }, redirect: 'manual' })
    expect(login.status, server.output()).toBe(303)
    expect(login.headers.get('location')).toBe('/account')
    const cookie = login.headers
      .getSetCookie()
      .map((header) => /^sessionid=([^;]+)/.exec(header)?.[1])
      .filter(Boolean)
      .at(-1)
    expect(cookie).toBeTruthy()

    const account = await fetch(`${server.url}/account`, { headers: { cookie: `sessionid=${cookie}` }, redirect: 'manual' })
    expect(account.status).toBe(200)
    expect(account.headers.get('x-runtime')).toBe('edge')
    expect(await account.text()).toContain('<p id="user">Ada Lovelace</p>')
  })
})

import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { freePort } from './ports.js'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
/** The browser suites' build, beside the developer's `.next`. */
export const E2E_DIST_DIR = '.next-e2e'
/** 32+ bytes, fixed so a failing run can be replayed by hand. */
export const TEST_SECRET = 'e2e-secret-e2e-secret-e2e-secret-e2e-secret'
const NEXT_BIN = join(ROOT, 'node_modules/next/dist/bin/next')
/** What the demo build reads: a change here makes the existing build stale. */
const SOURCES = ['app', 'lib', 'src', 'middleware.ts', 'proxy.ts', 'next.config.mjs', 'package.json']
/** What `next build` printed, kept in the dist dir so a cached build can still be asked which bundler made it. */
export const BUILD_LOG = 'edge-session-build.log'

/** The newest modification time of a file or of anything under a directory; 0 if it does not exist. */
export function newestMtime(path: string): number {
  if (!existsSync(path)) return 0
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  return Math.max(0, ...readdirSync(path).map((entry) => newestMtime(join(path, entry))))
}

function baseEnv(distDir: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NEXT_TELEMETRY_DISABLED: '1',
    NEXT_DIST_DIR: distDir,
    SESSION_SECRET: TEST_SECRET,
    // `npm run typecheck` checks types; the browser suites test behaviour.
    EDGE_SESSION_SKIP_TYPECHECK: '1',
    ...extra,
  }
}

/** Runs the next CLI; resolves with everything it printed. */
function run(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [NEXT_BIN, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk))
    child.once('error', reject)
    child.once('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`next ${args.join(' ')} exited with ${code}:\n${output}`))))
  })
}

const builds = new Map<string, Promise<void>>()

export interface BuildOptions {
  cwd?: string
  distDir?: string
  /** Paths under `cwd` the build reads (default: the demo's); one newer than the build makes it stale. */
  sources?: readonly string[]
  /**
   * Next 16's default bundler. Off by default: the demo imports src/ and needs webpack, for the
   * reason in next.config.mjs; an app consuming the packed package does not.
   */
  turbopack?: boolean
}

/**
 * `next build` of the app in `cwd` into `distDir`, once per process, and not at all when the
 * existing build is newer than every source file. What it printed is kept in `distDir`/BUILD_LOG.
 */
export function buildApp(options: BuildOptions = {}): Promise<void> {
  const cwd = options.cwd ?? ROOT
  const distDir = options.distDir ?? E2E_DIST_DIR
  const id = join(cwd, distDir)
  let build = builds.get(id)
  if (!build) {
    const stamp = join(id, 'BUILD_ID')
    const sources = options.sources ?? SOURCES
    const fresh = existsSync(stamp) && statSync(stamp).mtimeMs > Math.max(...sources.map((s) => newestMtime(join(cwd, s))))
    build = fresh
      ? Promise.resolve()
      : run(options.turbopack ? ['build'] : ['build', '--webpack'], cwd, baseEnv(distDir, {})).then((output) =>
          writeFileSync(join(id, BUILD_LOG), output),
        )
    builds.set(id, build)
  }
  return build
}


export interface AppServer {
  readonly url: string
  /** Everything the server printed: attach it to a failure. */
  output(): string
  stop(): Promise<void>
}

/** `next start -H 127.0.0.1` on a free port for a finished build; resolves once it answers. */
export async function startApp(options: { cwd?: string; distDir?: string; env?: Record<string, string> } = {}): Promise<AppServer> {
  const cwd = options.cwd ?? ROOT
  const distDir = options.distDir ?? E2E_DIST_DIR
  const port = await freePort()
  const child: ChildProcess = spawn(process.execPath, [NEXT_BIN, 'start', '-H', '127.0.0.1', '-p', String(port)], {
    cwd,
    env: baseEnv(distDir, options.env ?? {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk))
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk))
  let exited = false
  const gone = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())))
  const url = `http://127.0.0.1:${port}`
  const server: AppServer = {
    url,
    output: () => output,
    async stop() {
      if (!exited) child.kill('SIGTERM')
      const timer = setTimeout(() => exited || child.kill('SIGKILL'), 5000)
      await gone
      clearTimeout(timer)
    },
  }
  for (let i = 0; i < 300 && !exited; i++) {
    try {
      await fetch(`${url}/login`, { redirect: 'manual' })
      return server
    } catch {
      await sleep(100)
    }
  }
  await server.stop()
  throw new Error(`next start did not answer on ${url}:\n${output}`)
}

import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { freePort } from './ports.js'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
/** The browser suites' build, beside the developer's `.next`. */
export const E2E_DIST_DIR = '.next-e2e'
/** 32+ bytes, fixed so a failing run can be replayed by hand. */
export const TEST_SECRET = 'e2e-secret-e2e-secret-e2e-secret-e2e-secret'
/** The app's own Next if it has one (the Next 15 app), else the repository's. */
function nextBin(cwd: string): string {
  const own = join(cwd, 'node_modules/next/dist/bin/next')
  return existsSync(own) ? own : join(ROOT, 'node_modules/next/dist/bin/next')
}
/** What the demo build reads: a change here makes the existing build stale. It imports edge-session from dist/. */
const SOURCES = ['app', 'lib', 'dist', 'middleware.ts', 'proxy.ts', 'next.config.mjs', 'tsconfig.app.json', 'package.json']
/** What `next build` printed, kept in the dist dir so a cached build can still be asked which bundler made it. */
export const BUILD_LOG = 'edge-session-build.log'

/**
 * The warning lines of a `next build` log. Next's "No build cache found" notice is left out: Next prints it only
 * when `CI` is set and the dist dir has no cache yet (every fresh CI clone), and it is about the CI's caching,
 * not about the app being built.
 */
export function buildWarnings(log: string): string[] {
  return log.split('\n').filter((line) => /⚠|warn/i.test(line) && !/No build cache found/.test(line))
}

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
    const child = spawn(process.execPath, [nextBin(cwd), ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk))
    child.once('error', reject)
    child.once('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`next ${args.join(' ')} exited with ${code}:\n${output}`))))
  })
}

const builds = new Map<string, Promise<void>>()

/**
 * Compiles src/ to dist/ (what package.json "exports" points to) when a source is newer. The exit code
 * is not checked: tsc emits despite type errors, which `npm run typecheck` reports; a suite that
 * imports the package wants the current code, not a verdict on its types.
 */
export function ensureDist(): void {
  if (newestMtime(join(ROOT, 'src')) <= newestMtime(join(ROOT, 'dist'))) return
  spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore' })
}

export interface BuildOptions {
  cwd?: string
  distDir?: string
  /** Paths under `cwd` the build reads (default: the demo's); one newer than the build makes it stale. */
  sources?: readonly string[]
}

/**
 * `next build` of the app in `cwd` into `distDir` with Next's default bundler (Turbopack on 16, webpack
 * on 15), once per process, and not at all when the existing build is newer than every source file.
 * The demo's build first compiles dist/ when src/ is newer. What it printed is kept in `distDir`/BUILD_LOG.
 */
export function buildApp(options: BuildOptions = {}): Promise<void> {
  const cwd = options.cwd ?? ROOT
  const distDir = options.distDir ?? E2E_DIST_DIR
  const id = join(cwd, distDir)
  let build = builds.get(id)
  if (!build) {
    build = withLock(id, async () => {
      if (cwd === ROOT) ensureDist()
      const stamp = join(id, 'BUILD_ID')
      const sources = options.sources ?? SOURCES
      const fresh = existsSync(stamp) && statSync(stamp).mtimeMs > Math.max(...sources.map((s) => newestMtime(join(cwd, s))))
      if (!fresh) writeFileSync(join(id, BUILD_LOG), await run(['build'], cwd, baseEnv(distDir, {})))
    })
    builds.set(id, build)
  }
  return build
}

/**
 * Runs `task` while holding a lock on `dir` across processes (vitest runs suites in parallel workers):
 * two suites sharing one build wait for one `next build` instead of writing the same directory at once.
 * A lock left by a process that died is taken over.
 */
async function withLock(dir: string, task: () => Promise<void>): Promise<void> {
  const lock = `${dir}.lock`
  for (;;) {
    try {
      mkdirSync(lock)
      writeFileSync(join(lock, 'pid'), String(process.pid))
      break
    } catch {
      const holder = Number(existsSync(join(lock, 'pid')) ? readFileSync(join(lock, 'pid'), 'utf8') : NaN)
      if (Number.isInteger(holder) && !alive(holder)) rmSync(lock, { recursive: true, force: true })
      else await sleep(250)
    }
  }
  try {
    await task()
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
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
  const child: ChildProcess = spawn(process.execPath, [nextBin(cwd), 'start', '-H', '127.0.0.1', '-p', String(port)], {
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

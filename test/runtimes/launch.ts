/**
 * Starts the runtimes of the matrix, each from the project's own devDependencies (npm `workerd`, `deno`, `bun`;
 * playwright-core driving Debian's Chromium), each running test/runtimes/suite.ts bundled by esbuild with
 * the export conditions that runtime's own tooling uses. Used by matrix.test.ts and bench/runtimes.ts.
 *
 * A runtime that cannot be had is `null` after a printed reason, except under CI=true, where it is an error:
 * CI must never pass by skipping.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import type { Readable } from 'node:stream'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { builtinModules } from 'node:module'
import { build, type BuildOptions, type Plugin } from 'esbuild'
import { CHROMIUM, CHROMIUM_ARGS } from '../support/chromium.js'
import { bareEdgeVM, bundleForEdge } from '../support/edge-vm.js'
import type { CallName, Calls, Outcome } from './suite.js'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const BIN = join(ROOT, 'node_modules/.bin')
const STDIO_HOST = 'test/runtimes/hosts/stdio.ts'

/** A compatibility date Cloudflare users still pin: before 2024-11-11, when workerd began accepting `cache`. */
export const OLD_COMPATIBILITY_DATE = '2024-09-23'

/** Calls the suite's `fn` inside the runtime; a failure there rejects with its name, message and code. */
export type Caller = <K extends CallName>(fn: K, ...args: Parameters<Calls[K]>) => Promise<Awaited<ReturnType<Calls[K]>>>

export interface Runtime {
  name: string
  /** The bundle the runtime runs. */
  code: string
  /** The Upstash REST URL as this runtime must reach it (a page goes through its own origin). */
  upstashUrl: string | undefined
  /** Where it listens for HTTP, when it does (workerd). */
  url?: string
  call: Caller
  close(): Promise<void>
}

/** Returns null after printing why, or throws under CI=true. */
export function missing(name: string, reason: string): null {
  const text = `${name}: ${reason}`
  if (process.env.CI === 'true') throw new Error(`CI=true and ${text}`)
  console.warn(`[skip] ${text}`)
  return null
}

/** A `Caller` over a transport that carries one call to the runtime and its outcome back. */
function caller(name: string, send: (call: { fn: CallName; args: unknown[] }) => Promise<Outcome>): Caller {
  return (async (fn: CallName, ...args: unknown[]) => {
    const outcome = await send({ fn, args })
    if (outcome.ok) return outcome.value
    const err = new Error(`${name}: ${outcome.error.name}: ${outcome.error.message}`) as Error & { code?: string }
    err.name = outcome.error.name
    if (outcome.error.code) err.code = outcome.error.code
    throw err
  }) as Caller
}

/**
 * Node built-ins stay imports, as `node:` ones: Deno and Bun provide them, and Deno accepts only the prefixed form
 * outside an npm package (fflate's Node build, which the "node" condition picks, imports `module`).
 */
const builtinsAsNodeImports: Plugin = {
  name: 'builtins-as-node-imports',
  setup(b) {
    b.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) => {
      const name = args.path.replace(/^node:/, '')
      return builtinModules.includes(name) ? { path: `node:${name}`, external: true } : undefined
    })
  },
}

/** Bun resolves packages with the "bun" condition, then Node's. */
export const BUN_TARGET: Pick<BuildOptions, 'platform' | 'conditions' | 'plugins'> = {
  platform: 'neutral',
  conditions: ['bun', 'node', 'import', 'default'],
  plugins: [builtinsAsNodeImports],
}

/** The suite for one runtime, bundled as that runtime's tooling would: its export conditions, nothing else. */
export async function bundle(entry: string, options: Pick<BuildOptions, 'platform' | 'conditions' | 'plugins'>): Promise<string> {
  const result = await build({
    entryPoints: [join(ROOT, entry)],
    // Examples import the package by name, as an app does; here that name is this checkout's sources.
    alias: { 'edge-session': join(ROOT, 'src/index.ts'), 'edge-session/upstash': join(ROOT, 'src/engines/upstash.ts') },
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2022',
    mainFields: ['module', 'main'],
    logLevel: 'silent',
    ...options,
  })
  return result.outputFiles[0]!.text
}

/** Node, Bun or Deno: the stdio host in a child process, one JSON line per call. */
async function stdioRuntime(name: string, dir: string, code: string, command: string, args: (file: string) => string[], upstashUrl?: string): Promise<Runtime> {
  const file = join(dir, `${name.replace(/\W+/g, '-')}.mjs`)
  await writeFile(file, code)
  // A bare environment: nothing the library could read by accident, and Deno gets no permission to read it anyway.
  // No NODE_ENV either, which Next's types declare always present.
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NO_COLOR: '1' } as unknown as NodeJS.ProcessEnv
  const child: ChildProcess = spawn(command, args(file), { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'], env })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)))
  const pending = new Map<number, { resolve(o: Outcome): void; reject(e: Error): void }>()
  let exited: Error | undefined
  let buffered = ''
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString()
    let end: number
    while ((end = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, end)
      buffered = buffered.slice(end + 1)
      let answer: Outcome & { id: number }
      try {
        answer = JSON.parse(line) as Outcome & { id: number }
      } catch {
        stderr += `[stdout] ${line}\n` // a runtime's own notice, not an answer: kept for the error report
        continue
      }
      const { id, ...outcome } = answer
      pending.get(id)?.resolve(outcome)
      pending.delete(id)
    }
  })
  const gone = new Promise<void>((resolve) => child.once('close', () => resolve()))
  const fail = (why: string) => {
    exited = new Error(`${name} ${why}. stderr:\n${stderr}`)
    for (const p of pending.values()) p.reject(exited)
    pending.clear()
  }
  child.once('error', (err) => fail(`did not start (${err.message})`))
  child.once('exit', (code, signal) => fail(`exited (${code ?? signal})`))
  let next = 1
  const send = (call: { fn: CallName; args: unknown[] }): Promise<Outcome> =>
    new Promise((resolve, reject) => {
      if (exited) return reject(exited)
      const id = next++
      pending.set(id, { resolve, reject })
      child.stdin!.write(JSON.stringify({ id, ...call }) + '\n')
    })
  // The host's first line says it is up.
  await new Promise<void>((resolve, reject) => {
    pending.set(0, { resolve: () => resolve(), reject })
    setTimeout(() => reject(new Error(`${name} did not start within 30 s. stderr:\n${stderr}`)), 30_000).unref()
  })
  return {
    name,
    code,
    upstashUrl,
    call: caller(name, send),
    async close() {
      child.stdin!.end()
      child.kill('SIGTERM')
      await gone
    },
  }
}

export function binary(name: string): string | null {
  const path = join(BIN, name)
  return existsSync(path) ? path : null
}

export async function startNode(dir: string, upstashUrl?: string): Promise<Runtime> {
  const code = await bundle(STDIO_HOST, { platform: 'node' })
  return stdioRuntime('node', dir, code, process.execPath, (file) => [file], upstashUrl)
}

export async function startBun(dir: string, upstashUrl?: string): Promise<Runtime | null> {
  const bun = binary('bun')
  if (!bun) return missing('bun', 'node_modules/.bin/bun is missing: run npm install (bun is a devDependency).')
  const code = await bundle(STDIO_HOST, BUN_TARGET)
  return stdioRuntime('bun', dir, code, bun, (file) => ['run', '--no-install', file], upstashUrl)
}

/**
 * Deno with no permission at all (`--no-prompt`: a refused permission is an error, not a question). With `allowNet`,
 * net access to the Upstash host:port only, which is what the Upstash engine needs (README, "Runtimes").
 */
export async function startDeno(dir: string, upstashUrl?: string, allowNet = false): Promise<Runtime | null> {
  const deno = binary('deno')
  if (!deno) return missing('deno', 'node_modules/.bin/deno is missing: run npm install (deno is a devDependency).')
  // Deno resolves npm packages with the "deno" condition, then Node's.
  const code = await bundle(STDIO_HOST, { platform: 'neutral', conditions: ['deno', 'node', 'import', 'default'], plugins: [builtinsAsNodeImports] })
  const net = allowNet && upstashUrl ? [`--allow-net=${new URL(upstashUrl).host}`] : []
  const name = net.length ? 'deno --allow-net=<upstash host>' : 'deno, no permissions'
  return stdioRuntime(name, dir, code, deno, (file) => ['run', '--no-prompt', '--no-config', '--no-lock', ...net, file], upstashUrl)
}

export interface WorkerSpec {
  name: string
  compatibilityDate: string
  compatibilityFlags?: string[]
  /** Bundle conditions; default wrangler's: workerd, worker, browser. */
  conditions?: string[]
  /** The worker module, from the repository root; default the suite's host. */
  entry?: string
  /** Text bindings: what `wrangler secret put` and [vars] give a Worker. */
  bindings?: Record<string, string>
}

/** wrangler's export conditions for a Worker. */
const WORKERD_CONDITIONS = ['workerd', 'worker', 'browser', 'import', 'default']

/** The newest compatibility date this workerd supports (`workerd --version` prints it). */
async function newestDate(workerd: string): Promise<string> {
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(workerd, ['--version'])
    let text = ''
    child.stdout.on('data', (d: Buffer) => (text += d.toString()))
    child.once('error', reject)
    child.once('close', () => resolve(text))
  })
  const date = /\d{4}-\d{2}-\d{2}/.exec(out)?.[0]
  if (!date) throw new Error(`workerd --version printed no date: ${out}`)
  return date
}

/**
 * One workerd process serving one worker per spec, each on its own socket, from a generated config. Outbound
 * fetches may reach loopback (workerd's default network refuses it), so the Upstash engine can reach the local server.
 */
export async function startWorkerd(dir: string, specs: WorkerSpec[] | ((newest: string) => WorkerSpec[]), upstashUrl?: string): Promise<Runtime[] | null> {
  const workerd = binary('workerd')
  if (!workerd) return missing('workerd', 'node_modules/.bin/workerd is missing: run npm install (workerd is a devDependency).')
  const list = typeof specs === 'function' ? specs(await newestDate(workerd)) : specs
  const codes = await Promise.all(list.map((s) => bundle(s.entry ?? 'test/runtimes/hosts/worker.ts', { platform: 'browser', conditions: s.conditions ?? WORKERD_CONDITIONS })))
  await Promise.all(codes.map((code, i) => writeFile(join(dir, `worker-${i}.mjs`), code)))
  const services = list.map((s, i) => {
    const flags = (s.compatibilityFlags ?? []).map((f) => JSON.stringify(f)).join(', ')
    const bindings = Object.entries(s.bindings ?? {}).map(([name, text]) => `(name = ${JSON.stringify(name)}, text = ${JSON.stringify(text)})`)
    return `(name = "w${i}", worker = (modules = [(name = "worker.mjs", esModule = embed "worker-${i}.mjs")], compatibilityDate = "${s.compatibilityDate}", compatibilityFlags = [${flags}], bindings = [${bindings.join(', ')}], globalOutbound = "loopback"))`
  })
  // Port 0: workerd picks free ports and reports them on the control pipe, so no other process can take them first.
  const sockets = list.map((_, i) => `(name = "s${i}", address = "127.0.0.1:0", http = (), service = "w${i}")`)
  const config = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    ${services.join(',\n    ')},
    (name = "loopback", network = (allow = ["public", "local"])),
  ],
  sockets = [
    ${sockets.join(',\n    ')},
  ],
);
`
  await writeFile(join(dir, 'workerd.capnp'), config)
  const child = spawn(workerd, ['serve', join(dir, 'workerd.capnp'), '--control-fd=3'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] })
  let log = ''
  const keep = (d: Buffer) => (log = (log + d.toString()).slice(-4000))
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const gone = new Promise<void>((resolve) => child.once('close', () => resolve()))
  // Up when every socket has reported its port: one `{"event":"listen","socket":"s0","port":N}` line each.
  const ports = await new Promise<number[]>((resolve, reject) => {
    const found: number[] = []
    let control = ''
    ;(child.stdio[3] as Readable).on('data', (d: Buffer) => {
      control += d.toString()
      for (const m of control.matchAll(/"socket":"s(\d+)","port":(\d+)/g)) found[Number(m[1])] = Number(m[2])
      if (list.every((_, i) => found[i])) resolve(found)
    })
    child.once('exit', (code) => reject(new Error(`workerd exited (${code}). Output:\n${log}`)))
    setTimeout(() => reject(new Error(`workerd did not listen within 30 s. Output:\n${log}`)), 30_000).unref()
  }).catch(async (err: Error) => {
    child.kill('SIGTERM')
    throw err
  })
  const post = async (i: number, body: unknown): Promise<Response> =>
    fetch(`http://127.0.0.1:${ports[i]}/`, { method: 'POST', body: JSON.stringify(body) })
  let closed: Promise<void> | undefined
  const close = () =>
    (closed ??= (async () => {
      child.kill('SIGTERM')
      await gone
    })())
  return list.map((s, i) => ({
    name: s.name,
    code: codes[i]!,
    upstashUrl,
    url: `http://127.0.0.1:${ports[i]}`,
    call: caller(s.name, async (call) => {
      const res = await post(i, call)
      if (!res.ok) throw new Error(`${s.name}: HTTP ${res.status}: ${await res.text()}\n${log}`)
      return (await res.json()) as Outcome
    }),
    close,
  }))
}

/** The bare EdgeVM (no Buffer, process or require), in this process: what Next's edge runtime offers. */
export async function startEdgeVM(upstashUrl?: string): Promise<Runtime> {
  const code = await bundleForEdge('test/runtimes/hosts/global.ts', 'RuntimeSuite')
  const vm = bareEdgeVM(code)
  return {
    name: 'edge-vm',
    code,
    upstashUrl,
    call: caller('edge-vm', async (call) => JSON.parse(await (vm.evaluate(`RuntimeSuite.run(${JSON.stringify(call)}).then(JSON.stringify)`) as Promise<string>)) as Outcome),
    close: async () => {},
  }
}

/**
 * A Chromium page from /usr/bin/chromium. The page is served from a local origin that also forwards `/upstash` to the
 * Upstash REST server, as a same-origin proxy would in a real app (the REST server sends no CORS headers).
 */
export async function startChromium(upstashUrl?: string): Promise<Runtime | null> {
  if (!existsSync(CHROMIUM)) return missing('chromium', `${CHROMIUM} is missing: install it (apt-get install -y chromium).`)
  const { chromium } = await import('playwright-core')
  const result = await build({
    entryPoints: [join(ROOT, 'test/runtimes/hosts/global.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    globalName: 'RuntimeSuite',
    platform: 'browser',
    conditions: ['browser', 'import', 'default'],
    target: 'es2022',
    logLevel: 'silent',
  })
  const code = result.outputFiles[0]!.text
  const server: Server = createServer((req, res) => {
    if (req.url === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script src="/suite.js"></script>')
    if (req.url === '/suite.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(code)
    if (upstashUrl && req.url?.startsWith('/upstash')) {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', async () => {
        try {
          const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k))) as Record<string, string>
          const upstream = await fetch(upstashUrl + req.url!.slice('/upstash'.length), { method: req.method, headers, body: Buffer.concat(chunks) })
          const forwarded = Object.fromEntries([...upstream.headers].filter(([k]) => !['content-encoding', 'content-length', 'transfer-encoding', 'connection'].includes(k)))
          res.writeHead(upstream.status, forwarded).end(Buffer.from(await upstream.arrayBuffer()))
        } catch (err) {
          res.writeHead(502).end(String(err))
        }
      })
      return
    }
    res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  const page = await browser.newPage()
  await page.goto(origin + '/')
  return {
    name: 'chromium',
    code,
    upstashUrl: upstashUrl && origin + '/upstash',
    call: caller('chromium', (call) => page.evaluate((c) => (globalThis as unknown as { RuntimeSuite: { run(c: unknown): Promise<Outcome> } }).RuntimeSuite.run(c), call)),
    async close() {
      await browser.close()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** A scratch directory for bundles and configs, removed by the returned function. */
export async function scratch(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'edge-session-runtimes-'))
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) }
}

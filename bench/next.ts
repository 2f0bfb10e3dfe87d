/**
 * Part 3: middleware gating on `next start`. Builds bench/next-app (see its README) once into
 * bench/.out, starts one `next start` per configuration on 127.0.0.1:3200–3299, and loads them with
 * autocannon from this process, in interleaved rounds so that drift hits every configuration alike.
 *
 * On a machine with 2 CPUs or more and `taskset`, every `next start` is pinned to CPU 1 and this process (autocannon,
 * the Upstash REST server) with its redis-server to CPU 0. Unpinned, the servers, the load generator and the REST
 * server took turns on both CPUs, and the ratios of identical code moved by ±15 % between runs (0.84× to 1.33×).
 * Pinned, a server has one CPU as a single-core edge instance would, and the load generator never takes it away.
 */
import autocannon from 'autocannon'
// TypeScript's own reader: tsconfig.json has comments, which JSON.parse refuses.
import ts from 'typescript'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { startUpstashServer } from '../scripts/upstash-rest-server.js'
import { startRedis } from '../test/support/redis.js'
import { commitSession, createSessionStore, cookieEngine } from '../src/index.js'
import { upstashEngine } from '../src/engines/upstash.js'
import { upstashRevocation } from '../src/revocation/upstash.js'
import { userSessions } from '../src/users/index.js'
import { hasTaskset, loadAverage, machine, median, recordTargets, root, table, version, writeSection } from './harness.js'

const SECRET = 'bench-secret-0123456789abcdefghijklmnopqrstuvwxyz'
const APP = `${root}/bench/.out/next-app`
const DIST = 'dist-bench'
/** More, shorter rounds than the 8 × 2 s before (the same time): a ratio is taken within a round, bare and the row seconds apart. */
const ROUNDS = Number(process.env.BENCH_NEXT_ROUNDS ?? 16)
const SECONDS = Number(process.env.BENCH_NEXT_SECONDS ?? 1)
const CONNECTIONS = 10
/**
 * Seconds of load each server gets before the rounds. A fresh `next start` pinned to one CPU needed about 6 s of load
 * before its CPU per request stopped falling (2 770, 1 715, 1 182 µs in its first three 2 s loads, then 900–1 180).
 */
const WARMUP_SECONDS = 6
/** Page views of each configuration in the counting phase (see `upstashRequestsPerPage`). */
const COUNTED_PAGES = 500
const log = (s: string) => process.stderr.write(`${s}\n`)
/** `BENCH_NEXT_PIN=0` runs unpinned, as before, to compare the two methods. */
const PIN = process.env.BENCH_NEXT_PIN !== '0' && cpus().length >= 2 && hasTaskset()
/** The `next start` servers' CPU, and this process's (autocannon, the REST server, the redis-server it starts). */
const SERVER_CPU = '1'
const LOAD_CPU = '0'
/** Clock ticks per second, the unit of /proc/<pid>/stat's CPU times. */
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100

/** Busy and total clock ticks of CPU `cpu` so far (busy counts steal, not idle or iowait), from /proc/stat; `null` without it. */
function cpuTicks(cpu: string): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${cpu} `))
    if (!line) return null
    // user nice system idle iowait irq softirq steal
    const t = line.trim().split(/\s+/).slice(1, 9).map(Number)
    const total = t.reduce((a, b) => a + b, 0)
    return { busy: total - t[3]! - t[4]!, total }
  } catch {
    return null
  }
}

/**
 * CPU seconds (user + system, every thread) process `pid` has used so far, from /proc/<pid>/stat; `null` without /proc.
 * Per request, what a gate costs the server however much of its CPU it got, which throughput depends on.
 */
function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The fields after the command name (which may hold spaces and parentheses): utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
  } catch {
    return null
  }
}

/** Hash of everything the build depends on that can change: the app and edge-session's sources. */
function inputsHash(): string {
  const h = createHash('sha256')
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = `${dir}/${entry.name}`
      if (entry.isDirectory()) walk(p)
      else h.update(p).update(readFileSync(p))
    }
  }
  walk(`${root}/bench/next-app`)
  walk(`${root}/src`)
  h.update(version('next'))
  return h.digest('hex')
}

function build(): string {
  const hash = inputsHash()
  const stamp = `${APP}/${DIST}/.bench-inputs`
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hash && existsSync(`${APP}/${DIST}/BUILD_ID`)) {
    log('next: reusing the build (inputs unchanged)')
    return 'reused from an earlier run with identical inputs'
  }
  rmSync(APP, { recursive: true, force: true })
  mkdirSync(APP, { recursive: true })
  cpSync(`${root}/bench/next-app`, APP, { recursive: true })
  symlinkSync(`${root}/node_modules`, `${APP}/node_modules`)
  writeFileSync(`${APP}/package.json`, JSON.stringify({ name: 'edge-session-bench-app', private: true, type: 'module' }))
  // edge-session resolves to the working tree's sources, as the root tsconfig maps it for the demo app.
  const tsconfig = JSON.parse(readFileSync(`${APP}/tsconfig.json`, 'utf8'))
  tsconfig.compilerOptions.baseUrl = '.'
  tsconfig.compilerOptions.paths = Object.fromEntries(
    Object.entries((ts.parseConfigFileTextToJson('tsconfig.json', readFileSync(`${root}/tsconfig.json`, 'utf8')).config as { compilerOptions: { paths: Record<string, string[]> } }).compilerOptions.paths).map(
      ([name, [target]]) => [name, [`../../../${target!.replace(/^\.\//, '')}`]],
    ),
  )
  writeFileSync(`${APP}/tsconfig.json`, JSON.stringify(tsconfig, null, 2))
  log('next: building bench/next-app (next build --webpack)…')
  const t0 = performance.now()
  const r = spawnSync(`${root}/node_modules/.bin/next`, ['build', '--webpack'], {
    cwd: APP,
    env: { ...process.env, NEXT_DIST_DIR: DIST, NEXT_TELEMETRY_DISABLED: '1', SESSION_SECRET: SECRET },
    encoding: 'utf8',
  })
  if (r.status !== 0) throw new Error(`next build failed:\n${r.stdout}\n${r.stderr}`)
  const manifest = readFileSync(`${APP}/${DIST}/server/middleware-manifest.json`, 'utf8')
  if (!manifest.includes('"/"')) throw new Error('next build produced no edge middleware')
  writeFileSync(stamp, hash)
  return `built in ${((performance.now() - t0) / 1000).toFixed(0)} s`
}

interface Server {
  label: string
  port: number
  child: ChildProcess
  cookie: string
}

async function startNext(label: string, port: number, env: Record<string, string>, cookie: string): Promise<Server> {
  const next = [`${root}/node_modules/.bin/next`, 'start', '-H', '127.0.0.1', '-p', String(port)]
  // taskset execs next: the child's pid is the server's, whose CPU time cpuSeconds() reads.
  const [cmd, ...args] = PIN ? ['taskset', '-c', SERVER_CPU, ...next] : next
  const child = spawn(cmd!, args, {
    cwd: APP,
    env: { ...process.env, NODE_ENV: 'production', NEXT_DIST_DIR: DIST, NEXT_TELEMETRY_DISABLED: '1', SESSION_SECRET: SECRET, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (d) => (stderr += d))
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`next start (${label}) exited: ${stderr}`)
    try {
      const res = await fetch(`http://127.0.0.1:${port}/gated`, { headers: { cookie }, redirect: 'manual' })
      if (res.status !== 200) throw new Error(`${label}: /gated answered ${res.status} with a valid session cookie (${await res.text()})`.slice(0, 300))
      // Kept as a browser would: this first visit's refresh (the snapshot's first, say) is the cookie it now holds.
      // Dropped, the snapshot row counted 1 Upstash request per page: its refresh was not due again for 30 s.
      const set = setSessionCookie(res.headers.getSetCookie())
      return { label, port, child, cookie: set ? `sessionid=${set}` : cookie }
    } catch (err) {
      if (err instanceof Error && err.message.includes('answered')) throw err
      await sleep(100)
    }
  }
  throw new Error(`next start (${label}) did not answer on ${port}`)
}

/** One GET as the browser, keeping any cookie the server sets: before each round, so no round starts stale. */
async function refreshJar(server: Server): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${server.port}/gated`, { headers: { cookie: server.cookie }, redirect: 'manual' })
  if (res.status !== 200) throw new Error(`${server.label}: /gated answered ${res.status} with the session cookie`)
  const value = setSessionCookie(res.headers.getSetCookie())
  if (value) server.cookie = `sessionid=${value}`
  await res.arrayBuffer()
}

/** The session cookie a response sets, if any (a refresh, a new snapshot, a deletion). */
function setSessionCookie(header: string | string[] | undefined): string | null {
  for (const line of Array.isArray(header) ? header : header ? [header] : []) {
    const m = /^sessionid=([^;]*)/.exec(line)
    if (m) return m[1]!
  }
  return null
}

/**
 * Loads the server like a browser's tabs would: every connection sends the current cookie, and a cookie the
 * server sets (a refresh, a new snapshot) is kept for the requests after it, so a refresh is taken once, not
 * repeated by every request until the round ends. The same bookkeeping runs for every configuration.
 */
async function load(server: Server, limit: { duration: number } | { amount: number }): Promise<autocannon.Result> {
  const result = await autocannon({
    url: `http://127.0.0.1:${server.port}`,
    connections: CONNECTIONS,
    ...limit,
    requests: [
      {
        method: 'GET',
        path: '/gated',
        setupRequest: (req) => ({ ...req, headers: { ...req.headers, cookie: server.cookie } }),
        onResponse: (_status, _body, _context, headers) => {
          const value = setSessionCookie((headers as Record<string, string | string[] | undefined>)['set-cookie'])
          if (value) server.cookie = `sessionid=${value}`
        },
      },
    ],
  })
  if (result.non2xx || result.errors || result.timeouts) {
    throw new Error(`${server.label}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`)
  }
  return result
}

/**
 * Upstash requests per signed-in page view, counted exactly: the REST server's count over `COUNTED_PAGES` page
 * views, every one answered before autocannon returns (its `amount`), with nothing else in flight. A timed round
 * cannot give this: the pages still in flight when it ends have made their Upstash requests but are not among
 * its completed requests, which inflated the ratio (1.03 where 200 page views one after another made 200).
 */
async function upstashRequestsPerPage(server: Server, stats: { total: number; reset(): void }): Promise<number> {
  await refreshJar(server)
  stats.reset()
  const result = await load(server, { amount: COUNTED_PAGES })
  if (result.requests.sent !== COUNTED_PAGES || result.requests.total !== COUNTED_PAGES) {
    throw new Error(`${server.label}: asked for ${COUNTED_PAGES} pages, sent ${result.requests.sent}, completed ${result.requests.total}`)
  }
  return stats.total / COUNTED_PAGES
}

async function main(): Promise<void> {
  const startMachine = machine()
  const built = build()
  // After the build (which gets both CPUs), before the redis-server is spawned (it inherits CPU 0). `-a`: every thread.
  if (PIN && spawnSync('taskset', ['-a', '-p', '-c', LOAD_CPU, String(process.pid)]).status !== 0) throw new Error('next part: taskset could not pin the bench process')
  const redis = await startRedis()
  if (!redis) throw new Error('next part: no redis-server for the Upstash engine.')
  const upstash = await startUpstashServer({ token: 'bench-token', redisUrl: redis.url, port: 0 })
  const servers: Server[] = []
  try {
    // A signed-in session for each engine, made with the same secret the servers use.
    const cookieStore = createSessionStore({ secret: SECRET, engine: cookieEngine() })
    const upstashEnv = { UPSTASH_REDIS_REST_URL: upstash.url, UPSTASH_REDIS_REST_TOKEN: upstash.token }
    const upstashStore = createSessionStore({ secret: SECRET, engine: upstashEngine({ redis: { url: upstash.url, token: upstash.token } }) })
    const signIn = async (store: typeof cookieStore) => {
      const s = store.open()
      await s.aset('user', 'ada')
      const { cookie } = await commitSession(s, { hadCookie: false })
      return `sessionid=${cookie!.value}`
    }
    const cookieCookie = await signIn(cookieStore)
    const upstashCookie = await signIn(upstashStore)
    // Bound to a user by `alogin`, so the revocation store lists its session and the cookie loads only while it is live.
    const revocationStore = createSessionStore({ secret: SECRET, engine: cookieEngine({ revocation: upstashRevocation({ redis: { url: upstash.url, token: upstash.token } }) }) })
    const revocationCookie = await (async () => {
      const s = revocationStore.open()
      await userSessions(revocationStore).alogin(s, 'ada')
      await s.aset('user', 'ada')
      const { cookie } = await commitSession(s, { hadCookie: false })
      return `sessionid=${cookie!.value}`
    })()

    const upstashSnapshot = { ...upstashEnv, SNAPSHOT_MAX_AGE: '60' }
    const configs: [string, Record<string, string>, string][] = [
      ['bare: same middleware, no session read', { BENCH_MODE: 'bare', SESSION_ENGINE: 'cookie' }, cookieCookie],
      ['gate, cookie engine', { BENCH_MODE: 'gate', SESSION_ENGINE: 'cookie' }, cookieCookie],
      ['read only, cookie engine (`open` + `aget`, no adapter)', { BENCH_MODE: 'read', SESSION_ENGINE: 'cookie' }, cookieCookie],
      ['gate + slidingRefresh, cookie engine (throttled, default interval)', { BENCH_MODE: 'sliding', SESSION_ENGINE: 'cookie' }, cookieCookie],
      ['gate + slidingRefresh every visit, cookie engine (interval 0: verify + sign)', { BENCH_MODE: 'sliding', SLIDING_INTERVAL: '0', SESSION_ENGINE: 'cookie' }, cookieCookie],
      ['gate, signed cookie + revocation store', { BENCH_MODE: 'gate', SESSION_ENGINE: 'cookie', SESSION_REVOCATION: 'upstash', ...upstashEnv }, revocationCookie],
      ['gate, Upstash engine', { BENCH_MODE: 'gate', SESSION_ENGINE: 'upstash', ...upstashEnv }, upstashCookie],
      ['gate, Upstash + snapshot (maxAge 60 s) + slidingRefresh (interval 30 s)', { BENCH_MODE: 'sliding', SLIDING_INTERVAL: '30', SESSION_ENGINE: 'upstash', ...upstashSnapshot }, upstashCookie],
      ['gate + slidingRefresh, Upstash engine (throttled, default interval)', { BENCH_MODE: 'sliding', SESSION_ENGINE: 'upstash', ...upstashEnv }, upstashCookie],
    ]
    let port = 3200 + Math.floor(Math.random() * 80)
    for (const [label, env, cookie] of configs) servers.push(await startNext(label, port++, env, cookie))
    // Before any timed load, so that no page of an earlier run is still in flight at the server.
    log(`next: ${servers.length} servers up; counting Upstash requests per page`)
    const upstashRequests = new Map<string, number>()
    for (const s of servers) {
      if (s.label.includes('Upstash') || s.label.includes('revocation')) upstashRequests.set(s.label, await upstashRequestsPerPage(s, upstash.stats))
    }
    log('next: warming up')
    for (const s of servers) {
      await refreshJar(s)
      await load(s, { duration: WARMUP_SECONDS })
    }

    /**
     * Per round: req/s and its ratio to bare's in the same round; the server's CPU µs per request and bare's over it in
     * the same round; the share of the servers' CPU that went elsewhere meanwhile, and to the idle servers; latencies.
     */
    const samples = new Map(servers.map((s) => [s.label, { rps: [] as number[], ratio: [] as number[], cpu: [] as number[], cpuRatio: [] as number[], foreign: [] as number[], neighbours: [] as number[], p50: [] as number[], p99: [] as number[] }]))
    /** CPU seconds used so far by every server but `loaded`. */
    const othersCpu = (loaded: Server) => servers.reduce((sum, o) => (o === loaded ? sum : sum + (cpuSeconds(o.child.pid!) ?? 0)), 0)
    /**
     * Waits (at most 1 s) until `server` has used at most one clock tick of CPU in 100 ms: the servers share a CPU, and
     * the collection or compilation a server still runs after its load would otherwise be charged to the next row.
     */
    const settle = async (server: Server) => {
      for (let i = 0; i < 10; i++) {
        const before = cpuSeconds(server.child.pid!)
        await sleep(100)
        const after = cpuSeconds(server.child.pid!)
        if (before === null || after === null || after - before <= 1 / CLOCK_TICKS) return
      }
    }
    const loadAverages = [loadAverage()]
    for (let r = 0; r < ROUNDS; r++) {
      const roundRps = new Map<string, number>()
      for (let k = 0; k < servers.length; k++) {
        const s = servers[(k + r) % servers.length]!
        await refreshJar(s)
        const cpuBefore = cpuSeconds(s.child.pid!)
        const ticksBefore = PIN ? cpuTicks(SERVER_CPU) : null
        const othersBefore = othersCpu(s)
        const res = await load(s, { duration: SECONDS })
        const cpuAfter = cpuSeconds(s.child.pid!)
        const ticksAfter = PIN ? cpuTicks(SERVER_CPU) : null
        const othersAfter = othersCpu(s)
        const x = samples.get(s.label)!
        if (ticksBefore && ticksAfter && cpuBefore !== null && cpuAfter !== null) {
          // What the servers' CPU spent on anything but the loaded server: other processes, interrupts, the hypervisor.
          const foreign = ticksAfter.busy - ticksBefore.busy - (cpuAfter - cpuBefore) * CLOCK_TICKS
          x.foreign.push(Math.max(0, foreign) / (ticksAfter.total - ticksBefore.total))
          // Of which the bench's other, unloaded servers (a previous round's garbage collection or compilation).
          x.neighbours.push(((othersAfter - othersBefore) * CLOCK_TICKS) / (ticksAfter.total - ticksBefore.total))
        }
        await settle(s)
        // Completed requests over autocannon's measured duration: its per-second average has one bucket in a 1 s round.
        const rps = res.requests.total / res.duration
        roundRps.set(s.label, rps)
        x.rps.push(rps)
        if (cpuBefore !== null && cpuAfter !== null) x.cpu.push(((cpuAfter - cpuBefore) / res.requests.total) * 1e6)
        x.p50.push(res.latency.p50)
        x.p99.push(res.latency.p99)
      }
      const bareRps = roundRps.get(servers[0]!.label)!
      const bareCpuRound = samples.get(servers[0]!.label)!.cpu[r]
      for (const s of servers) {
        const x = samples.get(s.label)!
        x.ratio.push(roundRps.get(s.label)! / bareRps)
        if (bareCpuRound !== undefined && x.cpu[r] !== undefined) x.cpuRatio.push(bareCpuRound / x.cpu[r]!)
      }
      if (r === (ROUNDS >> 1) - 1) loadAverages.push(loadAverage())
      log(`next: round ${r + 1}/${ROUNDS}`)
    }
    loadAverages.push(loadAverage())
    // Every round's numbers, for a reader who wants more than the medians and ranges below.
    writeFileSync(`${root}/bench/.out/next-rounds.json`, JSON.stringify(Object.fromEntries(samples), null, 1))
    /** Per load (pinned only): the share of the servers' CPU that went to anything else meanwhile. */
    const foreignShares = [...samples.values()].flatMap((x) => x.foreign)
    const neighbourShares = [...samples.values()].flatMap((x) => x.neighbours)

    const percent = (x: number) => `${(100 * x).toFixed(0)} %`
    const spread = (xs: number[]) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`
    const rows = servers.map((s) => {
      const x = samples.get(s.label)!
      const perReq = upstashRequests.get(s.label)
      const cpu = x.cpu.length ? median(x.cpu) : null
      return [
        s.label,
        median(x.rps).toFixed(0),
        `${median(x.ratio).toFixed(3)}×`,
        spread(x.ratio),
        cpu === null ? '–' : cpu.toFixed(0),
        x.cpuRatio.length ? `${median(x.cpuRatio).toFixed(3)}×` : '–',
        median(x.p50).toFixed(1),
        median(x.p99).toFixed(1),
        perReq === undefined ? '–' : perReq.toFixed(3),
      ]
    })
    const samplesOf = (prefix: string) => samples.get(servers.find((x) => x.label.startsWith(prefix))!.label)!
    /** The median of the round ratios, and in the target's line their range too. */
    const ratioOf = (prefix: string) => median(samplesOf(prefix).ratio)
    // How busy the servers' CPU was with other work goes beside each ratio: a reader of the summary alone sees a disturbed run.
    const disturbance = foreignShares.length ? `; CPU ${SERVER_CPU} ${percent(median(foreignShares))} busy with other work` : ''
    const cpuRatioOf = (prefix: string) => (samplesOf(prefix).cpuRatio.length ? `; by server CPU per request ${median(samplesOf(prefix).cpuRatio).toFixed(3)}×` : '')
    const measured = (prefix: string) => `${ratioOf(prefix).toFixed(3)}× (rounds ${spread(samplesOf(prefix).ratio)}${disturbance}${cpuRatioOf(prefix)})`
    const gateRatio = ratioOf('gate, cookie engine')
    const slidingRatio = ratioOf('gate + slidingRefresh, cookie engine (throttled')
    const snapshotLabel = servers.find((x) => x.label.startsWith('gate, Upstash + snapshot'))!.label
    const snapshotRatio = ratioOf('gate, Upstash + snapshot')
    const revocationLabel = servers.find((x) => x.label.startsWith('gate, signed cookie + revocation'))!.label
    const revocationRatio = ratioOf('gate, signed cookie + revocation')
    const revocationRequests = upstashRequests.get(revocationLabel)!
    const targets = recordTargets('next', [
      { issue: 'issue 11.2', target: 'gate + slidingRefresh (cookie engine) ≥ 0.95× bare', measured: measured('gate + slidingRefresh, cookie engine (throttled'), met: slidingRatio >= 0.95 },
      { issue: 'issue 11.3', target: 'gated page on Upstash with the snapshot ≥ 0.9× bare', measured: `${measured('gate, Upstash + snapshot')}, ${upstashRequests.get(snapshotLabel)!.toFixed(3)} Upstash requests per page`, met: snapshotRatio >= 0.9 },
      { issue: 'issue 9', target: 'requests per signed-in page view with revocation = 1', measured: `${revocationRequests.toFixed(3)} (${COUNTED_PAGES} page views; gate at ${revocationRatio.toFixed(3)}× bare)`, met: revocationRequests === 1 },
      { issue: 'issue 5', target: 'gated page (cookie engine) ≥ 0.95× bare', measured: measured('gate, cookie engine'), met: gateRatio >= 0.95 },
    ])
    const out = [
      '## 3. Middleware gating on `next start`',
      '',
      `Run ${new Date().toISOString()} — ${startMachine}. ${PIN ? `Every \`next start\` pinned to CPU ${SERVER_CPU}, the load generator, the REST server and redis-server to CPU ${LOAD_CPU} (\`taskset\`)` : 'Not pinned'}. Load average (1, 5, 15 min) before the timed rounds, halfway and at the end: ${loadAverages.join(' / ')}.${foreignShares.length ? ` CPU ${SERVER_CPU} busy with other work during a timed load: median ${percent(median(foreignShares))}, at most ${percent(Math.max(...foreignShares))}; of which the bench's own idle servers: median ${percent(median(neighbourShares))}, at most ${percent(Math.max(...neighbourShares))}.` : ''}`,
      `Versions: next ${version('next')}, autocannon ${version('autocannon')}. Build: ${built}.`,
      '',
      `Method: bench/next-app (its README says what it is) built with \`next build --webpack\` into its own dist dir, one \`next start\` per configuration on 127.0.0.1:3200–3299 (all up at once, idle unless loaded), middleware on the edge runtime. autocannon runs in the bench process on the same ${cpus().length}-CPU machine${PIN ? `, on CPU ${LOAD_CPU}; the servers share CPU ${SERVER_CPU}, one loaded at a time` : ', all sharing every CPU'}: ${CONNECTIONS} connections, \`GET /gated\` with a valid signed-in session cookie, every response checked to be 2xx (a redirect to /login would fail the run). The load generator keeps cookies as a browser does: a cookie the server sets (a refresh, a new snapshot) is sent by the requests after it. ${ROUNDS} interleaved rounds of ${SECONDS} s per configuration (the order rotated each round) after a ${WARMUP_SECONDS} s warm-up each${PIN ? '; after each load the server is let settle (until it uses at most one clock tick of CPU in 100 ms, 1 s at most), so that its leftover collection or compilation is not charged to the next row on the shared CPU' : ''}. "× bare" is the median over the rounds of a row's req/s over bare's req/s in the same round, "rounds" the lowest and highest of those ratios; req/s, latencies and CPU are medians of the rounds. "Server CPU" is the \`next start\` process's user + system CPU time (every thread, from /proc, ${CLOCK_TICKS} ticks/s) over a round, per completed request: what a request costs the server, whatever share of its CPU it got; "bare's CPU ÷ row's" is the median over the rounds of bare's CPU per request over the row's in the same round: the throughput ratio of a server with a CPU to itself, a second view of "× bare" that does not depend on how much of the CPU the server got (other work on the CPU still moves it, through caches and smaller batches). The Upstash engine talks to the local Upstash REST server (in the bench process) in front of a private redis-server${PIN ? ', both on the load generator\'s CPU, as Upstash runs on other machines than the app in production' : ''}. "Upstash requests per page" is counted apart, before any timed load: the REST server's request count over exactly ${COUNTED_PAGES} page views (autocannon's \`amount\`, ${CONNECTIONS} connections, every one answered before the count is read, nothing else in flight), divided by ${COUNTED_PAGES}. Absolute numbers are low on this machine; the ratios to \`bare\` are the result.${PIN ? ` "Busy with other work" is the share of CPU ${SERVER_CPU}'s time (from /proc/stat, steal and interrupts included) not spent by the loaded server while it was loaded: near 0 the ratios are the servers' own; far above, other processes decided them.` : ''} Every round's numbers: bench/.out/next-rounds.json.`,
      '',
      table(['configuration', 'req/s', '× bare', 'rounds', 'server CPU µs/req', "bare's CPU ÷ row's", 'p50 ms', 'p99 ms', 'Upstash requests per page'], rows, ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r']),
      '',
      'Targets:',
      '',
      targets,
    ].join('\n')
    console.log(out)
    writeSection('next', out)
  } finally {
    for (const s of servers) s.child.kill('SIGTERM')
    await upstash.close()
    await redis.stop()
  }
}

await main()

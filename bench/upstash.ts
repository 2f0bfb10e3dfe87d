/**
 * Part 2: Upstash round trips. HTTP requests per session operation, counted at the local Upstash REST
 * server (scripts/upstash-rest-server.ts, in front of a private redis-server), and latency through it;
 * beside them the same session read done the way Auth.js's Upstash adapter does it.
 */
import { Redis } from '@upstash/redis'
import { startUpstashServer } from '../scripts/upstash-rest-server.js'
import { startRedis } from '../test/support/redis.js'
import { commitSession, createSessionStore } from '../src/index.js'
import { upstashEngine } from '../src/engines/upstash.js'
import { withSnapshot } from '../src/snapshot/index.js'
import { userSessions } from '../src/users/index.js'
import { machine, percentile, recordTargets, table, version, writeSection } from './harness.js'

const N = Number(process.env.BENCH_UPSTASH_N ?? 300)
const SECRET = 'bench-secret-0123456789abcdefghijklmnopqrstuvwxyz'
const USER = { userId: 42, role: 'admin' }

interface Result {
  label: string
  requests: number
  commands: string
  p50: number
  p99: number
  mean: number
}

async function main(): Promise<void> {
  const log = (s: string) => process.stderr.write(`${s}\n`)
  const startMachine = machine()
  // A private redis-server: nothing else's traffic on it, and nothing of ours left behind.
  const redis = await startRedis()
  if (!redis) throw new Error('upstash part: no redis-server (install redis-server).')
  const server = await startUpstashServer({ token: 'bench-token', redisUrl: redis.url, port: 0 })
  const results: Result[] = []

  /** Runs `prepare` (untimed, uncounted) then `op` N times; counts requests and commands at the server around `op` only. */
  async function time<T>(label: string, prepare: () => Promise<T>, op: (x: T) => Promise<unknown>): Promise<void> {
    for (let i = 0; i < 20; i++) await op(await prepare())
    const ms: number[] = []
    let requests = 0
    const commands: Record<string, number> = {}
    for (let i = 0; i < N; i++) {
      const x = await prepare()
      server.stats.reset()
      const t0 = performance.now()
      await op(x)
      ms.push(performance.now() - t0)
      requests += server.stats.total
      for (const [c, n] of Object.entries(server.stats.commands)) commands[c] = (commands[c] ?? 0) + n
    }
    results.push({
      label,
      requests: requests / N,
      commands: Object.entries(commands)
        .map(([c, n]) => `${c}${n / N === 1 ? '' : ` ×${+(n / N).toFixed(2)}`}`)
        .join(', '),
      p50: percentile(ms, 50),
      p99: percentile(ms, 99),
      mean: ms.reduce((a, b) => a + b, 0) / N,
    })
    log(`upstash: ${label}`)
  }

  try {
    const store = createSessionStore({ secret: SECRET, engine: upstashEngine({ redis: { url: server.url, token: server.token }, prefix: 'bench:' }) })
    /** A stored session holding USER, as a signed-in user's cookie points to. */
    const signedIn = async () => {
      const s = store.open()
      await s.aupdate(USER)
      await s.asave()
      return s.sessionKey!
    }

    await time('read: `open(key)` + `aget`', signedIn, async (key) => {
      if ((await store.open(key).aget('userId')) !== 42) throw new Error('read failed')
    })
    await time('read twice in one request (second `aget` is free)', signedIn, async (key) => {
      const s = store.open(key)
      await s.aget('userId')
      await s.aget('role')
    })
    await time('write: `open(key)` + `aget` + `aset` + `commitSession`', signedIn, async (key) => {
      const s = store.open(key)
      await s.aget('userId')
      await s.aset('fav_color', 'blue')
      await commitSession(s, { hadCookie: true })
    })
    await time('new session: `open()` + `aset` + `commitSession`', async () => null, async () => {
      const s = store.open()
      await s.aset('fav_color', 'blue')
      await commitSession(s, { hadCookie: false })
    })
    await time('login from an existing session: `acycleKey` + `aset` + `commitSession`', signedIn, async (key) => {
      const s = store.open(key)
      await s.acycleKey()
      await s.aset('userId', 7)
      await commitSession(s, { hadCookie: true })
    })
    await time('login after reading the session: `aget` + `acycleKey` + `aset` + `commitSession`', signedIn, async (key) => {
      const s = store.open(key)
      await s.aget('userId')
      await s.acycleKey()
      await s.aset('userId', 7)
      await commitSession(s, { hadCookie: true })
    })
    await time('login, data first: `aset` + `acycleKey` + `commitSession`', signedIn, async (key) => {
      const s = store.open(key)
      await s.aset('userId', 7)
      await s.acycleKey()
      await commitSession(s, { hadCookie: true })
    })
    await time('login with no session: `acycleKey` + `aset` + `commitSession`', async () => null, async () => {
      const s = store.open()
      await s.acycleKey()
      await s.aset('userId', 7)
      await commitSession(s, { hadCookie: false })
    })
    // The snapshot (src/snapshot/, maxAge 60 s): the same operations on a cookie whose snapshot is fresh.
    const snap = createSessionStore({ secret: SECRET, engine: withSnapshot(upstashEngine({ redis: { url: server.url, token: server.token }, prefix: 'bench-snap:' }), { maxAge: 60 }) })
    const snapSignedIn = async () => {
      const s = snap.open()
      await s.aupdate(USER)
      const { cookie } = await commitSession(s, { hadCookie: false })
      return cookie!.value
    }
    await time('snapshot: read, `open(cookie)` + `aget` (snapshot fresh)', snapSignedIn, async (cookie) => {
      if ((await snap.open(cookie).aget('userId')) !== 42) throw new Error('snapshot read failed')
    })
    await time('snapshot: write, `aget` + `aset` + `commitSession` (snapshot fresh)', snapSignedIn, async (cookie) => {
      const s = snap.open(cookie)
      await s.aget('userId')
      await s.aset('fav_color', 'blue')
      await commitSession(s, { hadCookie: true })
    })
    await time('snapshot: login from an existing session, `acycleKey` + `aset` + `commitSession`', snapSignedIn, async (cookie) => {
      const s = snap.open(cookie)
      await s.acycleKey()
      await s.aset('userId', 7)
      await commitSession(s, { hadCookie: true })
    })
    await time('logout: `aflush` + `commitSession`', signedIn, async (key) => {
      const s = store.open(key)
      await s.aflush()
      await commitSession(s, { hadCookie: true })
    })
    // A session bound to a user (`alogin`): its entry in the user's index goes with it.
    const users = userSessions(store)
    const boundTo = (sessions: typeof store) => async () => {
      const s = sessions.open()
      await userSessions(sessions).alogin(s, 'u42')
      const { cookie } = await commitSession(s, { hadCookie: false })
      return cookie!.value
    }
    await time('logout of a session bound to a user, read first: `agetUserId` + `aflush` + `commitSession`', boundTo(store), async (key) => {
      const s = store.open(key)
      if ((await users.agetUserId(s)) !== 'u42') throw new Error('bound read failed')
      await s.aflush()
      await commitSession(s, { hadCookie: true })
    })
    await time('logout of a session bound to a user, not read: `aflush` + `commitSession`', boundTo(store), async (key) => {
      const s = store.open(key)
      await s.aflush()
      await commitSession(s, { hadCookie: true })
    })
    await time('snapshot: logout of a session bound to a user, not read: `aflush` + `commitSession`', boundTo(snap), async (cookie) => {
      const s = snap.open(cookie)
      await s.aflush()
      await commitSession(s, { hadCookie: true })
    })
    await time('request that touches no session data', signedIn, async (key) => {
      await commitSession(store.open(key), { hadCookie: true })
    })

    // Auth.js: database sessions through @auth/upstash-redis-adapter, with the client as its docs build it.
    const { UpstashRedisAdapter } = await import('@auth/upstash-redis-adapter')
    const client = new Redis({ url: server.url, token: server.token })
    const adapter = UpstashRedisAdapter(client, { baseKeyPrefix: 'bench-authjs:' })
    let n = 0
    const authSession = async () => {
      const user = await adapter.createUser!({ id: `u${++n}`, email: `u${n}@example.com`, emailVerified: null, name: 'Ada' })
      const sessionToken = crypto.randomUUID()
      await adapter.createSession!({ sessionToken, userId: user.id, expires: new Date(Date.now() + 86_400_000) })
      return sessionToken
    }
    await time('Auth.js adapter read: `getSessionAndUser(token)`', authSession, async (token) => {
      const r = await adapter.getSessionAndUser!(token)
      if (!r || r.user.name !== 'Ada') throw new Error('Auth.js read failed')
    })
    await time('Auth.js adapter session extension: `updateSession`', authSession, async (token) => {
      await adapter.updateSession!({ sessionToken: token, expires: new Date(Date.now() + 2 * 86_400_000) })
    })
    await time('Auth.js adapter logout: `deleteSession`', authSession, async (token) => {
      await adapter.deleteSession!(token)
    })
  } finally {
    await server.close()
    await redis.stop()
  }

  const fmt = (x: number) => x.toFixed(2)
  const out = [
    '## 2. Upstash round trips',
    '',
    `Run ${new Date().toISOString()} — ${startMachine}. Not pinned.`,
    `Versions: @upstash/redis ${version('@upstash/redis')}, @auth/upstash-redis-adapter ${version('@auth/upstash-redis-adapter')}, ioredis ${version('ioredis')} (in the local server), redis-server private to this run.`,
    '',
    `Method: the local Upstash REST server (scripts/upstash-rest-server.ts) in this process, in front of a private \`redis-server\` on 127.0.0.1; each operation ${N} times after 20 warm-ups, one at a time. Requests and Redis commands are counted at the server around the operation only (setup such as creating the session it reads is excluded). Latency is the client-side wall time of the whole operation, through HTTP on loopback and the server's own JSON/base64 work; on real Upstash each request is a network round trip instead, so **requests per operation** is the number that carries over. edge-session uses its engine defaults (its own client, auto-pipelining off); Auth.js uses \`new Redis({ url, token })\` with the client's defaults, as its docs show.`,
    '',
    table(
      ['operation', 'HTTP requests', 'Redis commands per op', 'p50 ms', 'p99 ms', 'mean ms'],
      results.map((r) => [r.label, +r.requests.toFixed(2), r.commands || '–', fmt(r.p50), fmt(r.p99), fmt(r.mean)]),
      ['l', 'r', 'l', 'r', 'r', 'r'],
    ),
    '',
    'Target (issue 5): one request per session read, at most one more for a request that writes. ' +
      targetLine(results),
    '',
    'Targets (issue 11):',
    '',
    issue11Targets(results),
  ].join('\n')
  console.log(out)
  writeSection('upstash', out)
}

function targetLine(results: Result[]): string {
  const req = (prefix: string) => results.find((r) => r.label.startsWith(prefix))!.requests
  const read = req('read: ')
  const write = req('write: ')
  const login = req('login from an existing')
  return [
    `Read: ${read} request (${read === 1 ? 'met' : '**missed**'}).`,
    `Read + write: ${write} (${write <= read + 1 ? 'met' : '**missed**'}).`,
    `Login from an existing session (\`acycleKey\` moves the record as it loads it, then the save): ${login} (${login <= read + 1 ? 'met' : `**over by ${login - read - 1}**`}).`,
  ].join(' ')
}

await main()

/** Issue 11 item 4: login ≤ 2 requests with no fixation window; logout stays 1, a read 1, a request that touches nothing 0. */
function issue11Targets(results: Result[]): string {
  const req = (prefix: string) => results.find((r) => r.label.startsWith(prefix))!.requests
  const login = req('login from an existing')
  const dataFirst = req('login, data first')
  const snapLogin = req('snapshot: login')
  return recordTargets('upstash', [
    {
      issue: 'issue 11.4',
      target: 'login on Upstash ≤ 2 requests (`acycleKey` + `aset` + `commitSession`, no snapshot)',
      measured: `${login} (data first: ${dataFirst}; with a fresh snapshot: ${snapLogin}; after reading the session first: ${req('login after reading')})`,
      met: login <= 2,
    },
    {
      issue: 'issue 11.4',
      target: 'logout stays 1 request',
      measured:
        `${req('logout: ')}; bound to a user: ${req('logout of a session bound to a user, read first')} with the read before it (the delete 1), ` +
        `${req('logout of a session bound to a user, not read')} not read (the index keys are named by the user id), ` +
        `${req('snapshot: logout of a session bound')} behind a fresh snapshot`,
      met: req('logout: ') === 1 && req('snapshot: logout of a session bound') === 1 && req('logout of a session bound to a user, read first') === 2,
    },
    { issue: 'issue 11.4', target: 'a read stays 1 request (0 with a fresh snapshot)', measured: `${req('read: ')} (snapshot: ${req('snapshot: read')})`, met: req('read: ') === 1 && req('snapshot: read') === 0 },
    { issue: 'issue 11.4', target: 'a request that touches nothing stays 0', measured: String(req('request that touches no session data')), met: req('request that touches no session data') === 0 },
  ])
}

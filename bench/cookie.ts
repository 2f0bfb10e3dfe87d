/**
 * Part 1: cookie sessions, encode and decode. Run by bench/run.ts under `taskset -c 0` (see there).
 * `tsx bench/cookie.ts` runs it alone, unpinned unless you pin it yourself.
 */
import nodeCrypto, { createHmac, timingSafeEqual } from 'node:crypto'
import { syncBuiltinESMExports } from 'node:module'
import { loadavg } from 'node:os'
import { bareEdgeVM, bundleForEdge } from '../test/support/edge-vm.js'
import { fmtOps, fmtRatio, loop, machine, measure, recordTargets, table, version, writeSection, type Scenario } from './harness.js'
import {
  edgeApi,
  edgeEngine,
  OPS,
  prepare,
  SECRET,
  webCryptoFloor,
  type Base64url,
  type CookieLib,
  type Op,
  type Size,
} from './cookie-libs.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9)
const MS = Number(process.env.BENCH_MS ?? 60)
const WARMUP_MS = 150

// ---- counting background crypto calls ------------------------------------------------------------
// Every crypto.subtle call (and node:crypto's async hkdf/pbkdf2) is a job on libuv's thread pool:
// counting them per op explains most of the spread between libraries.
const counts = { on: false, subtle: 0, node: 0 }
const subtle = globalThis.crypto.subtle as unknown as Record<string, (...a: unknown[]) => unknown>
for (const m of ['sign', 'verify', 'encrypt', 'decrypt', 'digest', 'importKey', 'deriveKey', 'deriveBits', 'exportKey']) {
  const orig = subtle[m]!.bind(subtle)
  subtle[m] = (...a: unknown[]) => {
    if (counts.on) counts.subtle++
    return orig(...a)
  }
}
const nodeCryptoMut = nodeCrypto as unknown as Record<string, (...a: unknown[]) => unknown>
for (const m of ['hkdf', 'pbkdf2', 'scrypt']) {
  const orig = nodeCryptoMut[m]!
  nodeCryptoMut[m] = (...a: unknown[]) => {
    if (counts.on) counts.node++
    return orig(...a)
  }
}
// Peers import node:crypto as ESM: make them see the counting wrappers. Peers are imported below, after this.
syncBuiltinESMExports()

const { sealData, unsealData } = await import('iron-session')
const authJwt = await import('@auth/core/jwt')
const { createCookieSessionStorage } = await import('react-router')
const honoCookie = await import('hono/utils/cookie')

// ---- the Node-only libraries -----------------------------------------------------------------------
const bufferBase64url: Base64url = {
  encode: (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url'),
  decode: (text) => Buffer.from(text, 'base64url'),
}

function nodeHmac(): CookieLib {
  const key = Buffer.from(SECRET)
  return {
    async write(payload) {
      const body = Buffer.from(JSON.stringify(payload)).toString('base64url')
      return `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`
    },
    async read(value) {
      const dot = value.indexOf('.')
      if (dot === -1) return null
      const body = value.slice(0, dot)
      const sig = Buffer.from(value.slice(dot + 1), 'base64url')
      const expected = createHmac('sha256', key).update(body).digest()
      if (sig.length !== expected.length || !timingSafeEqual(sig, expected)) return null
      return JSON.parse(Buffer.from(body, 'base64url').toString('utf8'))
    },
  }
}

const hasUser = (x: unknown) => (x && typeof x === 'object' && 'userId' in x ? x : null)

function ironSession(): CookieLib {
  const options = { password: SECRET, ttl: 14 * 24 * 3600 }
  return {
    write: (payload) => sealData(payload, options),
    // unsealData answers {} for a bad seal.
    read: async (value) => hasUser(await unsealData(value, options)),
  }
}

function authJs(): CookieLib {
  const salt = 'authjs.session-token'
  return {
    write: (payload) => authJwt.encode({ token: payload, secret: SECRET, salt }),
    // decode throws on a bad token; getToken() turns that into null, as here.
    read: async (value) => {
      try {
        return hasUser(await authJwt.decode({ token: value, secret: SECRET, salt }))
      } catch {
        return null
      }
    },
  }
}

function reactRouter(): CookieLib {
  const name = '__session'
  const storage = createCookieSessionStorage({
    cookie: { name, secrets: [SECRET], httpOnly: true, sameSite: 'lax', path: '/', maxAge: 14 * 24 * 3600 },
  })
  return {
    async write(payload) {
      const session = await storage.getSession()
      for (const [k, v] of Object.entries(payload)) session.set(k, v)
      const header = await storage.commitSession(session)
      return header.slice(name.length + 1, header.indexOf(';'))
    },
    async read(value) {
      const session = await storage.getSession(`${name}=${value}`)
      return session.has('userId') ? session.data : null
    },
  }
}

/**
 * Hono's signed cookie (`setSignedCookie`/`getSignedCookie` in a handler are these two plus the header):
 * the value is the JSON itself, URI-encoded, then `.` and a base64 HMAC-SHA256. No expiry inside, no compression.
 */
function honoSigned(): CookieLib {
  const name = 'session'
  const options = { httpOnly: true, sameSite: 'Lax', path: '/', maxAge: 14 * 24 * 3600 } as const
  return {
    async write(payload) {
      const header = await honoCookie.serializeSigned(name, JSON.stringify(payload), SECRET, options)
      return header.slice(name.length + 1, header.indexOf(';'))
    },
    async read(value) {
      const parsed = (await honoCookie.parseSigned(`${name}=${value}`, SECRET, name))[name]
      return typeof parsed === 'string' ? hasUser(JSON.parse(parsed)) : null
    },
  }
}

// ---- rows ----------------------------------------------------------------------------------------
interface Row {
  id: string
  label: string
}
const NODE_ROWS: Row[] = [
  { id: 'nodehmac', label: 'node:crypto HMAC-SHA256 (sync floor)' },
  { id: 'webcrypto', label: 'WebCrypto HMAC-SHA256, key imported once (async floor)' },
  { id: 'engine-jws', label: '**edge-session** engine, signed (JWS HS256)' },
  { id: 'engine-jwe', label: '**edge-session** engine, encrypted (JWE dir+A256GCM)' },
  { id: 'api-jws', label: '**edge-session** API, signed ¹' },
  { id: 'api-jwe', label: '**edge-session** API, encrypted ¹' },
  { id: 'rr', label: `React Router ${version('react-router')} createCookieSessionStorage` },
  { id: 'hono', label: `Hono ${version('hono')} signed cookie (serializeSigned/parseSigned)` },
  { id: 'authjs', label: `Auth.js @auth/core ${version('@auth/core')} jwt encode/decode` },
  { id: 'iron', label: `iron-session ${version('iron-session')} sealData/unsealData` },
]
const VM_ROWS: Row[] = NODE_ROWS.filter((r) => ['webcrypto', 'engine-jws', 'engine-jwe', 'api-jws', 'api-jwe'].includes(r.id))
const COLS: [Op, Size][] = [
  ['write', 'S'],
  ['read', 'S'],
  ['tamper', 'S'],
  ['write', 'L'],
  ['read', 'L'],
  ['tamper', 'L'],
  ['repeat', 'S'],
  ['repeat', 'L'],
]
/** The columns every library has; the ratio tables and targets use these. */
const MAIN = COLS.filter(([op]) => op !== 'repeat')
const colName = ([op, size]: [Op, Size]) => `${{ write: 'write', read: 'read', tamper: 'tampered read', repeat: 'same cookie again ³' }[op]} ${size}`

async function main(): Promise<void> {
  const log = (s: string) => process.stderr.write(`${s}\n`)
  const pinned = process.env.BENCH_PINNED ?? 'not pinned'
  const startMachine = machine()
  log(`cookie: preparing (${ROUNDS} rounds × ${MS} ms per scenario, ${pinned})`)

  const node = await prepare({
    nodehmac: nodeHmac(),
    webcrypto: await webCryptoFloor(bufferBase64url),
    'engine-jws': edgeEngine(false),
    'engine-jwe': edgeEngine(true),
    'api-jws': edgeApi(false),
    'api-jwe': edgeApi(true),
    rr: reactRouter(),
    hono: honoSigned(),
    authjs: authJs(),
    iron: ironSession(),
  })

  // Background crypto calls per op, counted outside the timed runs.
  const perOp = new Map<string, string>()
  for (const row of NODE_ROWS) {
    const cells = []
    for (const op of OPS) {
      const run = node.ops.get(`${row.id}|${op}|S`)
      if (!run) continue
      counts.on = true
      counts.subtle = counts.node = 0
      for (let i = 0; i < 20; i++) await run()
      counts.on = false
      cells.push(`${+(counts.subtle / 20).toFixed(1)}${counts.node ? `+${+(counts.node / 20).toFixed(1)}n` : ''}`)
    }
    perOp.set(row.id, cells.join('/'))
  }

  const code = await bundleForEdge('bench/cookie-edge-entry.ts', 'benchVM')
  const vm = bareEdgeVM(code)
  const vmPrep = (await vm.evaluate('benchVM.prepare()')) as { ids: string[]; sizes: [string, number][] }
  const vmSizes = new Map(vmPrep.sizes)

  const scenarios: Scenario[] = [
    ...[...node.ops].map(([id, op]) => ({ id, run: loop(op) })),
    ...vmPrep.ids.map((id) => ({ id: `vm:${id}`, run: (ms: number) => vm.evaluate(`benchVM.run(${JSON.stringify(id)}, ${ms})`) as Promise<number> })),
  ]
  log(`cookie: timing ${scenarios.length} scenarios`)
  const t0 = performance.now()
  const r = await measure(scenarios, { rounds: ROUNDS, ms: MS, warmupMs: WARMUP_MS }, log)
  const wall = (performance.now() - t0) / 1000

  const get = (row: string, [op, size]: [Op, Size], prefix = '') => r.get(`${prefix}${row}|${op}|${size}`)
  const opsTable = (rows: Row[], prefix: string, sizes: Map<string, number>) =>
    table(
      ['ops/s (median)', ...COLS.map(colName), 'subtle calls per op S (write/read/tampered/again) ²', 'cookie bytes S / L'],
      rows.map((row) => [
        row.label,
        ...COLS.map((c) => fmtOps(get(row.id, c, prefix))),
        perOp.get(row.id)!,
        `${sizes.get(`${row.id}|S`)} / ${sizes.get(`${row.id}|L`)}`,
      ]),
    )
  const ratioTable = (against: string, title: string) =>
    table(
      [title, ...MAIN.map(colName)],
      NODE_ROWS.filter((row) => row.id !== against).map((row) => [row.label, ...MAIN.map((c) => fmtRatio(get(row.id, c)! / get(against, c)!))]),
    )
  const vmTable = table(
    ['in a bare EdgeVM: ops/s (× same row in Node)', ...COLS.map(colName), 'cookie bytes S / L'],
    VM_ROWS.map((row) => [
      row.label,
      ...COLS.map((c) => `${fmtOps(get(row.id, c, 'vm:'))} (${fmtRatio(get(row.id, c, 'vm:')! / get(row.id, c)!)})`),
      `${vmSizes.get(`${row.id}|S`)} / ${vmSizes.get(`${row.id}|L`)}`,
    ]),
  )

  // Targets (issue 5): cookie read and write ≥ 10× iron-session, ≥ 2× React Router, ≥ 0.8× the WebCrypto floor.
  const targetRows: (string | number)[][] = []
  for (const [subject, label] of [
    ['engine-jws', 'engine, signed'],
    ['engine-jwe', 'engine, encrypted'],
    ['api-jws', 'API, signed'],
  ] as const) {
    for (const c of MAIN.filter(([op]) => op !== 'tamper')) {
      const v = get(subject, c)!
      const checks = [
        ['iron', 10],
        ['rr', 2],
        ['webcrypto', 0.8],
      ] as const
      targetRows.push([
        `${label}: ${colName(c)}`,
        ...checks.map(([peer, min]) => {
          const x = v / get(peer, c)!
          return `${fmtRatio(x)} ${x >= min ? 'met' : '**missed**'}`
        }),
      ])
    }
  }
  const targets = table(['edge-session', 'vs iron-session (≥ 10×)', 'vs React Router (≥ 2×)', 'vs WebCrypto floor (≥ 0.8×)'], targetRows)

  // Issue 11 item 1: API write ≥ 2× React Router on S and L, ≥ Hono's signed cookie on L, cookies still the smallest.
  const ratio = (a: string, b: string, size: Size) => get(a, ['write', size])! / get(b, ['write', size])!
  const smallest = (size: Size) => Math.min(...['rr', 'hono', 'authjs', 'iron'].map((peer) => node.sizes.get(`${peer}|${size}`)!))
  const sizeS = node.sizes.get('api-jws|S')!
  const sizeL = node.sizes.get('api-jws|L')!
  const issue11 = recordTargets('cookie', [
    { issue: 'issue 11.1', target: 'API write S ≥ 2× React Router', measured: `${fmtOps(get('api-jws', ['write', 'S']))} vs ${fmtOps(get('rr', ['write', 'S']))} ops/s = ${fmtRatio(ratio('api-jws', 'rr', 'S'))}`, met: ratio('api-jws', 'rr', 'S') >= 2 },
    { issue: 'issue 11.1', target: 'API write L ≥ 2× React Router', measured: `${fmtOps(get('api-jws', ['write', 'L']))} vs ${fmtOps(get('rr', ['write', 'L']))} ops/s = ${fmtRatio(ratio('api-jws', 'rr', 'L'))}`, met: ratio('api-jws', 'rr', 'L') >= 2 },
    { issue: 'issue 11.1', target: "API write L ≥ Hono's signed cookie", measured: `${fmtOps(get('api-jws', ['write', 'L']))} vs ${fmtOps(get('hono', ['write', 'L']))} ops/s = ${fmtRatio(ratio('api-jws', 'hono', 'L'))}`, met: ratio('api-jws', 'hono', 'L') >= 1 },
    // S is not compressed (under 128 bytes), so only L measures what compression buys; S is shown for the record.
    { issue: 'issue 11.1', target: "compression's cookie size kept: L ≤ 427 bytes and the smallest of all", measured: `L ${sizeL} bytes (smallest peer ${smallest('L')}); S ${sizeS} bytes (smallest peer ${smallest('S')})`, met: sizeL <= Math.min(427, smallest('L')) },
  ])

  const out = [
    '## 1. Cookie sessions: encode and decode',
    '',
    `Run ${new Date().toISOString()} — ${startMachine}. Process ${pinned}. Timing took ${wall.toFixed(0)} s; load average at the end ${loadavg().map((x) => x.toFixed(2)).join(' ')}.`,
    `Versions: jose ${version('jose')}, iron-session ${version('iron-session')}, @auth/core ${version('@auth/core')} (held at 0.34 by next-auth@${version('next-auth')}'s peer range), react-router ${version('react-router')}, @edge-runtime/vm ${version('@edge-runtime/vm')}, esbuild ${version('esbuild')}.`,
    '',
    `Method: each scenario is one operation awaited in a loop for ${MS} ms; all ${scenarios.length} scenarios run in interleaved rounds (${ROUNDS} rounds, start rotated each round) after a ${WARMUP_MS} ms warm-up each; the table gives the median round. S = \`{"userId":42,"role":"admin"}\`, L = a 1028-byte cart. Write = make the cookie value from the data; read = verify (or decrypt) and parse; tampered read = one base64url character flipped in the middle, which every library must reject (checked before timing). Engine rows call \`engine.save\`/\`engine.load\`; API rows are what a handler does (see ¹).`,
    '',
    opsTable(NODE_ROWS, '', node.sizes),
    '',
    '¹ API read = `store.open(cookie)` + `aget`; API write = `store.open()` + `aset` per key + `commitSession` (serializer checks, the Set-Cookie decision, one sign; a signed or encrypted cookie draws no random session key, the encrypted one draws its IV). A request that reads and then changes its session costs one read plus one write.',
    '² `crypto.subtle` calls per operation on S; `+Nn` = node:crypto async calls (hkdf/pbkdf2) as well. Each is a job on libuv\'s thread pool. In Node, edge-session\'s signed cookie makes none: where the runtime has Node\'s crypto and zlib (`process.getBuiltinModule`), it signs with a synchronous HMAC on the same key, deflates with zlib and encodes base64url with Buffer (src/lib/hs256.ts, src/lib/compress.ts, src/lib/base64url.ts); the EdgeVM rows below run the edge path (Web Crypto, src/lib/deflate.ts, btoa), as `next start`\'s middleware does.',
    '³ edge-session remembers the last 256 cookies it verified (src/engines/cookie.ts): *read* cycles through 1024 different valid cookies so every read verifies afresh, *same cookie again* reads one cookie repeatedly, as a visitor\'s requests do. The peers do not remember, so only *read* is measured for them; targets use *read*.',
    '',
    ratioTable('engine-jws', 'each ÷ edge-session engine (signed)'),
    '',
    ratioTable('webcrypto', 'each ÷ WebCrypto floor'),
    '',
    '### Inside `@edge-runtime/vm` (bare `new EdgeVM()`, loop run inside the VM)',
    '',
    vmTable,
    '',
    '### Targets (issue 5)',
    '',
    targets,
    '',
    '### Targets (issue 11)',
    '',
    issue11,
  ].join('\n')
  console.log(out)
  writeSection('cookie', out)
  log('cookie: wrote bench/RESULTS.md')
}

await main()

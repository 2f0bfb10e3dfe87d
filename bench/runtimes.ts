/**
 * Part: runtimes. Cookie session reads and writes per second in each runtime of the test matrix (Node, the bare
 * EdgeVM, Bun, Deno, a Chromium page, workerd), each running the portable suite bundled for it
 * (test/runtimes/launch.ts), and each relative to Node in the same run.
 *
 *   npx tsx bench/runtimes.ts            # writes the "runtimes" section of bench/RESULTS.md
 *   BENCH_RUNTIMES_MS=300 npx tsx bench/runtimes.ts   # a quicker, noisier run
 *
 * A read opens one of 512 different cookies (verify + decode), a write makes one (encode + sign or encrypt). The
 * time is taken from outside, around one call that does n operations, less the call's own round trip: workerd's
 * clock stands still while a request computes, so no runtime times itself.
 */
import type { EngineKind } from '../test/fixtures/edge-app.js'
import { OLD_COMPATIBILITY_DATE, scratch, startBun, startChromium, startDeno, startEdgeVM, startNode, startWorkerd, type Runtime } from '../test/runtimes/launch.js'
import { fmtOps, fmtRatio, machine, median, table, version, writeSection } from './harness.js'

const TARGET_MS = Number(process.env.BENCH_RUNTIMES_MS ?? 1000)
const REPEATS = 3
const SECRET = 'bench-secret-0123456789abcdefghijklmnopqrstuvwxyz'
const KINDS: EngineKind[] = ['signed', 'encrypted']
const OPS = ['read', 'write'] as const

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now()
  await fn()
  return performance.now() - t0
}

/** Operations per second of `op` in `rt`: calibrated to about TARGET_MS per repeat, the median of REPEATS. */
async function rate(rt: Runtime, kind: EngineKind, op: (typeof OPS)[number]): Promise<number> {
  const run = (n: number) => timed(() => rt.call('bench', kind, SECRET, op, n))
  await run(200) // warm-up: JIT, key import, the 512 cookies to read
  const calls: number[] = []
  for (let i = 0; i < 5; i++) calls.push(await run(0))
  const overhead = median(calls)
  // Grow n until one call takes long enough for its round trip not to matter, then scale to TARGET_MS.
  let n = 50
  let ms: number
  while ((ms = await run(n)) < Math.min(50, TARGET_MS / 4)) n *= 2
  n = Math.max(n, Math.round((TARGET_MS * n) / ms))
  const rates: number[] = []
  for (let i = 0; i < REPEATS; i++) rates.push((n * 1000) / Math.max(1, (await run(n)) - overhead))
  return median(rates)
}

async function main(): Promise<void> {
  const log = (s: string) => process.stderr.write(`${s}\n`)
  const startMachine = machine()
  const { dir, remove } = await scratch()
  const started = await Promise.all([
    startNode(dir),
    startEdgeVM(),
    startBun(dir),
    startDeno(dir),
    startChromium(),
    startWorkerd(dir, (newest) => [
      { name: `workerd ${OLD_COMPATIBILITY_DATE}`, compatibilityDate: OLD_COMPATIBILITY_DATE },
      { name: `workerd ${newest}`, compatibilityDate: newest },
    ]),
  ])
  const runtimes = started.flat().filter((r): r is Runtime => r !== null)
  const results = new Map<string, number>()
  try {
    // One runtime at a time: they share the machine's cores.
    for (const rt of runtimes) {
      for (const kind of KINDS) {
        for (const op of OPS) {
          const r = await rate(rt, kind, op)
          results.set(`${rt.name} ${kind} ${op}`, r)
          log(`${rt.name.padEnd(28)} ${kind.padEnd(9)} ${op.padEnd(5)} ${fmtOps(r)}/s`)
        }
      }
    }
  } finally {
    await Promise.all(runtimes.map((r) => r.close()))
    await remove()
  }

  const rows = runtimes.flatMap((rt) =>
    KINDS.map((kind) => {
      const cell = (op: string) => results.get(`${rt.name} ${kind} ${op}`)
      const node = (op: string) => results.get(`node ${kind} ${op}`)
      return [rt.name, kind, fmtOps(cell('read')), fmtRatio(cell('read')! / node('read')!), fmtOps(cell('write')), fmtRatio(cell('write')! / node('write')!)]
    }),
  )
  const body = `## Runtimes

Cookie session reads and writes per second in each runtime of the test matrix, relative to Node in the same run
(\`npx tsx bench/runtimes.ts\`; ${TARGET_MS} ms per measurement, median of ${REPEATS}). Each runtime runs the same
portable suite, bundled for it by esbuild with its own export conditions; a read verifies and decodes one of 512
different cookies, a write encodes and signs (or encrypts) one.

${table(['runtime', 'cookie', 'reads/s', 'vs Node', 'writes/s', 'vs Node'], rows, ['l', 'l', 'r', 'r', 'r', 'r'])}

workerd ${version('workerd')}, Deno ${version('deno')}, Bun ${version('bun')}, Chromium from /usr/bin/chromium driven by
playwright-core ${version('playwright-core')}. Machine: ${startMachine}.
`
  writeSection('runtimes', body)
  console.log(body)
}

await main()

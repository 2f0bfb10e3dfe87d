/**
 * `npm run bench [-- cookie|upstash|next|bundle ...]`: runs the parts in order, each in its own process,
 * and each rewrites its own section of bench/RESULTS.md.
 *
 * The cookie part is pinned to CPU 0 with `taskset -c 0` when it exists: on a 2-core VM, every
 * crypto.subtle call otherwise wakes a thread-pool worker on the other core, and the cost of that
 * wake-up (tens of µs, varying with whatever else runs) would swamp the differences being measured.
 * The server parts are not pinned: the server and the load generator need a core each.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { root } from './harness.js'

const PARTS = ['cookie', 'upstash', 'next', 'bundle'] as const
type Part = (typeof PARTS)[number]

const asked = process.argv.slice(2).filter((a) => !a.startsWith('-'))
for (const a of asked) {
  if (!(PARTS as readonly string[]).includes(a)) {
    console.error(`Unknown part "${a}". Parts: ${PARTS.join(', ')}.`)
    process.exit(2)
  }
}
const parts = (asked.length ? asked : PARTS) as Part[]

function hasTaskset(): boolean {
  return ['/usr/bin/taskset', '/bin/taskset'].some(existsSync) && spawnSync('taskset', ['-c', '0', 'true']).status === 0
}

let failed = false
for (const part of parts) {
  const script = `${root}/bench/${part}.ts`
  // process.execArgv carries tsx's loader, so the child runs TypeScript the same way this process does.
  const node = [process.execPath, ...process.execArgv, script]
  const pin = part === 'cookie' && hasTaskset()
  const [cmd, ...args] = pin ? ['taskset', '-c', '0', ...node] : node
  const t0 = performance.now()
  const r = spawnSync(cmd!, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', BENCH_PINNED: pin ? 'pinned to CPU 0 with `taskset -c 0`' : 'not pinned (taskset not found)' },
  })
  console.error(`bench: ${part} ${r.status === 0 ? 'done' : `FAILED (exit ${r.status ?? r.signal})`} in ${((performance.now() - t0) / 1000).toFixed(0)} s`)
  if (r.status !== 0) failed = true
}
process.exit(failed ? 1 : 0)

/**
 * `npm run bench [-- cookie|upstash|next|bundle|runtimes ...]`: runs the parts in order, each in its own
 * process; each rewrites its own section of bench/RESULTS.md and records its targets, and this runner ends
 * with every target of the run, met or missed, and the machine's load average (the "summary" section).
 *
 * The cookie part is pinned to CPU 0 with `taskset -c 0` when it exists: on a 2-core VM, every
 * crypto.subtle call otherwise wakes a thread-pool worker on the other core, and the cost of that
 * wake-up (tens of µs, varying with whatever else runs) would swamp the differences being measured.
 * The next part pins itself (bench/next.ts): its servers to one core, its load generator to the other.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs'
import { hasTaskset, loadAverage, machine, root, table, targetsDir, writeSection, type TargetResult } from './harness.js'

/** runtimes.ts (the runtime matrix) is run when present. */
const PARTS = ['cookie', 'upstash', 'next', 'bundle', ...(existsSync(`${root}/bench/runtimes.ts`) ? ['runtimes'] : [])]

const asked = process.argv.slice(2).filter((a) => !a.startsWith('-'))
for (const a of asked) {
  if (!PARTS.includes(a)) {
    console.error(`Unknown part "${a}". Parts: ${PARTS.join(', ')}.`)
    process.exit(2)
  }
}
const parts = asked.length ? asked : PARTS

/**
 * The peers live in bench/'s own package, so a clone of the library never installs them (they want newer Node
 * than the library supports, and nothing but the bench needs them). Installed from bench/package-lock.json on
 * the first run, and again whenever that lock is newer than the install.
 */
function installBenchDeps(): void {
  const bench = `${root}/bench`
  const marker = `${bench}/node_modules/.package-lock.json`
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(`${bench}/package-lock.json`).mtimeMs) return
  console.error('bench: installing the peers into bench/node_modules (npm ci, first run only)…')
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const r = spawnSync(npm, ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: bench, stdio: 'inherit' })
  if (r.status !== 0) {
    console.error('bench: installing bench/ dependencies failed; run `npm ci` in bench/ to see why.')
    process.exit(1)
  }
}

installBenchDeps()

const startedAt = new Date().toISOString()
const startMachine = machine()
// Only this run's targets go into the summary.
for (const part of parts) rmSync(`${targetsDir}${part}.json`, { force: true })

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
  console.error(`bench: ${part} ${r.status === 0 ? 'done' : `FAILED (exit ${r.status ?? r.signal})`} in ${((performance.now() - t0) / 1000).toFixed(0)} s (load average now ${loadAverage()})`)
  if (r.status !== 0) failed = true
}

const targets: (TargetResult & { part: string })[] = parts.flatMap((part) => {
  const file = `${targetsDir}${part}.json`
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as TargetResult[]).map((t) => ({ ...t, part })) : []
})
const summary = [
  '## Targets of this run',
  '',
  `Run started ${startedAt} (parts: ${parts.join(', ')}) — ${startMachine} (1, 5, 15 min), at the end ${loadAverage()}. ` +
    'The machine is shared: every part runs its peers in the same process and run, so ratios hold better than absolute numbers.',
  '',
  table(
    ['issue', 'target', 'measured', 'result', 'part'],
    targets.map((t) => [t.issue, t.target, t.measured, t.met ? 'met' : '**missed**', t.part]),
    ['l', 'l', 'l', 'l', 'l'],
  ),
  '',
  `${targets.filter((t) => t.met).length} met, ${targets.filter((t) => !t.met).length} missed.${failed ? ' Some parts FAILED: see the log above.' : ''}`,
].join('\n')
console.log(`\n${summary}`)
// A partial run (one part) leaves the summary of the last full run alone.
if (!asked.length) writeSection('summary', summary)
process.exit(failed ? 1 : 0)

/**
 * Timing and reporting shared by every bench part. Scenarios are timed in interleaved rounds
 * (A B C … A B C …) so drift on a shared machine (other processes, thermal, GC) hits every row alike.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs'
import os from 'node:os'
import { fileURLToPath } from 'node:url'

export const root = fileURLToPath(new URL('..', import.meta.url))
export const resultsFile = fileURLToPath(new URL('RESULTS.md', import.meta.url))

import type { Timed } from './loop.js'
export { loop, type Timed } from './loop.js'

export interface Scenario {
  id: string
  run: Timed
}

export interface MeasureOptions {
  rounds: number
  ms: number
  warmupMs: number
}

/** Median ops/s per scenario id. `run` returns ops/s (see `loop`). */
export async function measure(scenarios: Scenario[], opts: MeasureOptions, log = (_: string) => {}): Promise<Map<string, number>> {
  for (const s of scenarios) await s.run(opts.warmupMs)
  const samples = new Map<string, number[]>(scenarios.map((s) => [s.id, []]))
  for (let r = 0; r < opts.rounds; r++) {
    // Rotate the start each round so no scenario always runs right after the same neighbour.
    for (let k = 0; k < scenarios.length; k++) {
      const s = scenarios[(k + r) % scenarios.length]!
      samples.get(s.id)!.push(await s.run(opts.ms))
    }
    log(`  round ${r + 1}/${opts.rounds}`)
  }
  return new Map([...samples].map(([id, xs]) => [id, median(xs)]))
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!
}

export function fmtOps(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '–'
  if (x >= 100_000) return `${Math.round(x / 1000)}k`
  if (x >= 10_000) return `${(x / 1000).toFixed(1)}k`
  if (x >= 1000) return `${(x / 1000).toFixed(2)}k`
  return x.toFixed(0)
}

export function fmtRatio(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '–'
  return x >= 10 ? `${x.toFixed(0)}×` : `${x.toFixed(2)}×`
}

/** A GitHub-flavoured Markdown table; it is also what the console shows. */
export function table(head: string[], rows: (string | number)[][], align?: ('l' | 'r')[]): string {
  const a = align ?? head.map((_, i) => (i === 0 ? 'l' : 'r'))
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`
  return [line(head), line(a.map((x) => (x === 'l' ? '---' : '---:'))), ...rows.map(line)].join('\n')
}

/** The bench's own peers (bench/package.json): they resolve from bench/node_modules, everything else from the root's. */
const benchPeers = new Set(Object.keys((JSON.parse(readFileSync(`${root}/bench/package.json`, 'utf8')) as { dependencies: Record<string, string> }).dependencies))

/** The installed version of `pkg`, from where the bench's imports of it resolve. */
export function version(pkg: string): string {
  const dirs = [`${root}/node_modules`, `${root}/bench/node_modules`]
  for (const dir of benchPeers.has(pkg) ? dirs.reverse() : dirs) {
    try {
      return JSON.parse(readFileSync(`${dir}/${pkg}/package.json`, 'utf8')).version as string
    } catch {}
  }
  return 'not installed'
}

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
  let kernel = os.release()
  try {
    kernel = execFileSync('uname', ['-sr'], { encoding: 'utf8' }).trim()
  } catch {}
  return `${cpu}, ${os.cpus().length} logical CPUs, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${kernel}, Node ${process.version}, load average at start ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`
}

/**
 * RESULTS.md holds one section per part between markers, so `npm run bench -- cookie` refreshes its
 * own section and leaves the others' last real run in place.
 */
export function writeSection(part: string, body: string): void {
  const begin = `<!-- bench:${part} -->`
  const end = `<!-- /bench:${part} -->`
  const order = ['summary', 'cookie', 'upstash', 'next', 'bundle', 'runtimes']
  let text = existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : header()
  const block = `${begin}\n${body.trim()}\n${end}`
  const at = text.indexOf(begin)
  if (at !== -1) {
    text = text.slice(0, at) + block + text.slice(text.indexOf(end, at) + end.length)
  } else {
    // Keep parts in their fixed order whatever order they were run in.
    const later = order.slice(order.indexOf(part) + 1).map((p) => text.indexOf(`<!-- bench:${p} -->`)).filter((i) => i !== -1)
    const pos = later.length ? Math.min(...later) : text.length
    text = `${text.slice(0, pos).trimEnd()}\n\n${block}\n\n${text.slice(pos).trimStart()}`.trimEnd() + '\n'
  }
  writeFileSync(resultsFile, text)
}

function header(): string {
  return [
    '# edge-session benchmarks',
    '',
    'Written by `npm run bench` (`npm run bench -- cookie|upstash|next|bundle|runtimes` reruns one part and rewrites only its section; a full run also rewrites the summary of targets at the top). The notes at the end are written by hand.',
    'Every number below comes from a real run on the machine named in its section; peers are measured in the same run.',
    '',
  ].join('\n')
}

/** One target of an issue, as a part measured it: run.ts prints them all, met or missed, after the run. */
export interface TargetResult {
  issue: string
  target: string
  measured: string
  met: boolean
}

export const targetsDir = fileURLToPath(new URL('.out/targets/', import.meta.url))

/** Records a part's targets for run.ts's summary, and returns them as Markdown lines for the part's own section. */
export function recordTargets(part: string, targets: TargetResult[]): string {
  mkdirSync(targetsDir, { recursive: true })
  writeFileSync(`${targetsDir}${part}.json`, JSON.stringify(targets, null, 2))
  return targets.map((t) => `- ${t.issue}: ${t.target}: ${t.measured} — ${t.met ? 'met' : '**missed**'}.`).join('\n')
}

/** `taskset` is there and may pin (a container can refuse sched_setaffinity). */
export function hasTaskset(): boolean {
  return ['/usr/bin/taskset', '/bin/taskset'].some(existsSync) && spawnSync('taskset', ['-c', '0', 'true']).status === 0
}

export function loadAverage(): string {
  return os.loadavg().map((x) => x.toFixed(2)).join(' ')
}

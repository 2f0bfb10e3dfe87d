/**
 * Comparing Django's observations with ours, step by step, and shrinking a sequence that shows an
 * unexplained difference down to the shortest one that still shows it.
 */
import type { Observation, Sequence, Step } from './protocol.js'

export interface Divergence {
  index: number
  step: Step
  django: Observation
  ours: Observation
  /** The observation fields that differ: r (result), m (modified), a (accessed), k (key). */
  fields: Array<keyof Observation>
}

/**
 * What is compared. `miss` is not: when a store is asked is the implementation's business (Django's cache
 * save looks the record up without loading it, ours loads it); the allow-list uses it to tell why a
 * cookie was refused.
 */
const FIELDS: Array<keyof Observation> = ['r', 'm', 'a', 'k']

export function firstDivergence(seq: Sequence, django: Observation[], ours: Observation[]): Divergence | null {
  for (let index = 0; index < seq.steps.length; index++) {
    const d = django[index]!
    const o = ours[index]!
    const step = seq.steps[index]!
    // After a 5xx response nothing is saved; whether the middleware looked at the data on its way out
    // (Django does, to compute the expiry it then does not use) leaves no trace anyone can see.
    const unseen = step.op === 'commit' && (step.status ?? 200) >= 500 ? ['a', 'k'] : []
    const fields = FIELDS.filter((f) => d[f] !== o[f] && !unseen.includes(f))
    if (fields.length > 0) return { index, step, django: d, ours: o, fields }
  }
  return null
}

/** Candidate simplifications of one sequence, most aggressive first. */
function* candidates(seq: Sequence): Generator<Sequence> {
  const { steps } = seq
  // Drop chunks, halving their size down to single steps.
  for (let size = Math.floor(steps.length / 2); size >= 1; size = Math.floor(size / 2)) {
    for (let at = steps.length - size; at >= 0; at -= size) {
      yield { ...seq, steps: [...steps.slice(0, at), ...steps.slice(at + size)] }
    }
  }
  // Simpler steps: plain values, no defaults, no options, shorter waits.
  for (let i = 0; i < steps.length; i++) {
    for (const simpler of simplify(steps[i]!)) yield { ...seq, steps: steps.map((s, j) => (j === i ? simpler : s)) }
  }
  const defaults = { cookieAge: 1_209_600, expireAtBrowserClose: false, saveEveryRequest: false }
  for (const [name, value] of Object.entries(defaults) as Array<[keyof typeof defaults, never]>) {
    if (seq.config[name] !== value) yield { ...seq, config: { ...seq.config, [name]: value } }
  }
}

function* simplify(step: Step): Generator<Step> {
  if ('value' in step && step.op !== 'update' && step.value !== '1') yield { ...step, value: '1' }
  if (step.op === 'update' && step.value !== '{}') {
    const entries = Object.keys(JSON.parse(step.value) as object)
    // Keep the original text per key: JSON.parse would lose what the difference may be about.
    if (entries.length > 1) yield { ...step, value: `{${JSON.stringify(entries[0])}:1}` }
  }
  if ('default' in step && step.default !== undefined) {
    const { default: _, ...rest } = step
    yield rest as Step
  }
  if (step.op === 'getExpiryAge' || step.op === 'getExpiryDate') {
    if (step.expiry) yield { op: step.op, h: step.h, ...(step.modificationOffsetMs === undefined ? {} : { modificationOffsetMs: step.modificationOffsetMs }) }
    if (step.modificationOffsetMs !== undefined) yield { op: step.op, h: step.h, ...(step.expiry ? { expiry: step.expiry } : {}) }
  }
  if (step.op === 'commit' && step.status !== undefined) yield { op: 'commit', h: step.h }
  if ('h' in step && step.h !== 0) yield { ...step, h: 0 }
  if (step.op === 'advance' && step.ms > 1000) yield { op: 'advance', ms: Math.round(step.ms / 2000) * 1000 }
}

/**
 * Greedy shrinking: takes any simplification that still fails, until none does, or `budget` checks or
 * `seconds` have been spent. Returns the smallest failing sequence found.
 */
export async function shrink(
  seq: Sequence,
  fails: (candidate: Sequence) => Promise<boolean>,
  { budget = 2000, seconds = 30 } = {},
): Promise<Sequence> {
  let best = seq
  let checks = 0
  // performance.now(), not Date: the test freezes Date.
  const deadline = performance.now() + seconds * 1000
  const spent = (): boolean => ++checks > budget || performance.now() > deadline
  for (let improved = true; improved; ) {
    improved = false
    for (const candidate of candidates(best)) {
      if (spent()) return best
      if (await fails(candidate)) {
        best = candidate
        improved = true
        break
      }
    }
  }
  return best
}

/** A sequence as a reader can follow it: one line per step, with both sides' observations. */
export function describeRun(seq: Sequence, django: Observation[], ours: Observation[]): string {
  const lines = [
    `engine ${seq.engine}, settings ${JSON.stringify(seq.config)}, clock starts at ${new Date(seq.start).toISOString()}`,
  ]
  seq.steps.forEach((step, i) => {
    const d = django[i]
    const o = ours[i]
    const same = JSON.stringify(d) === JSON.stringify(o)
    lines.push(`${String(i).padStart(3)} ${JSON.stringify(step)}`)
    lines.push(`      ${same ? 'both  ' : 'django'} ${JSON.stringify(d)}`)
    if (!same) lines.push(`      ours   ${JSON.stringify(o)}`)
  })
  return lines.join('\n')
}

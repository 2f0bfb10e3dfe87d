/**
 * Every difference from Django the differential test accepts, each keyed to its numbered item in
 * README "Where we differ from Django, and why". A divergence no entry explains fails the test.
 *
 * Each entry is as narrow as the difference it names. Those about one answer (5, 6, 7, 15, 17, 18) look
 * at the step where the two sides first part and say yes only when it shows exactly that difference.
 * Those after which the two sides hold different sessions (1, 2, 13, 16, 19) look at the history up to
 * that step: the event that made them part. What comes after the first difference is not compared.
 */
import type { Divergence } from './compare.js'
import { canonNumber, parseCanon, renderCanon, type CanonTree, type Observation, type Sequence, type Step } from './protocol.js'

export interface Context {
  seq: Sequence
  target: string
  divergence: Divergence
  django: Observation[]
  ours: Observation[]
}

export interface Allowed {
  /** The README item number. */
  item: number
  title: string
  explains(ctx: Context): boolean
}

// ---- rewriting Django's answer the way JavaScript would have read it ------------------------------

/** A result's canonical parts: `peek` answers "<data> age=<number>". */
function parts(result: string): string[] {
  const m = /^(.*) age=(\S+)$/s.exec(result)
  return m ? [m[1]!, m[2]!] : [result]
}

function mapTree(tree: CanonTree, fn: (node: CanonTree) => CanonTree): CanonTree {
  if (Array.isArray(tree)) return fn(tree.map((t) => mapTree(t, fn)))
  if (tree !== null && typeof tree === 'object' && 'obj' in tree) {
    return fn({ obj: tree.obj.map(([k, v]) => [k, mapTree(v, fn)] as [string, CanonTree]) })
  }
  return fn(tree)
}

/** Django's answer with every number as a JavaScript double: `1.0` → `1`, `10**30` → `1e30`, `2**53 + 1` → `2**53`. */
function asJsNumbers(tree: CanonTree): CanonTree {
  return mapTree(tree, (node) => {
    if (node === null || typeof node !== 'object' || !('num' in node)) return node
    const [kind, text] = [node.num.slice(0, 1), node.num.slice(2)]
    if (kind === 'i') return { num: canonNumber(Number(text)) }
    if (text === '0' || text === '-0') return { num: canonNumber(text === '0' ? 0 : -0) }
    const m = /^(-?)(\d+)e(-?\d+)$/.exec(text)
    return m ? { num: canonNumber(Number(`${m[1]}${m[2]}e${m[3]}`)) } : node
  })
}

const INTEGER_LIKE = /^(0|[1-9]\d{0,8})$/

function isObject(tree: CanonTree): tree is { obj: [string, CanonTree][] } {
  return tree !== null && typeof tree === 'object' && 'obj' in tree
}

/**
 * The same entries, in the same order but for where integer-like keys sit: JavaScript puts them first
 * in an object, and JSON.parse does so at once, so `aupdate({c: 1, '0': 'v'})` adds "0" before "c".
 */
function sameButIntegerKeys(theirs: CanonTree, mine: CanonTree): boolean {
  if (isObject(theirs) && isObject(mine)) {
    const plain = (entries: [string, CanonTree][]): string => JSON.stringify(entries.map(([k]) => k).filter((k) => !INTEGER_LIKE.test(k)))
    if (theirs.obj.length !== mine.obj.length || plain(theirs.obj) !== plain(mine.obj)) return false
    const byKey = new Map(mine.obj)
    return theirs.obj.every(([k, v]) => byKey.has(k) && sameButIntegerKeys(v, byKey.get(k)!))
  }
  if (Array.isArray(theirs) && Array.isArray(mine)) {
    return theirs.length === mine.length && theirs.every((v, i) => sameButIntegerKeys(v, mine[i]!))
  }
  return renderCanon(theirs) === renderCanon(mine)
}

/** The value's canonical text with every object's keys sorted: the same for values that differ only in key order. */
function sortedText(tree: CanonTree): string {
  if (isObject(tree)) {
    return `{${[...tree.obj]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${sortedText(v)}`)
      .join(',')}}`
  }
  if (Array.isArray(tree)) return `[${tree.map(sortedText).join(',')}]`
  return renderCanon(tree)
}

function byContent(a: CanonTree, b: CanonTree): number {
  const [x, y] = [sortedText(a), sortedText(b)]
  return x < y ? -1 : x > y ? 1 : 0
}

/** `keys`, `items` and `values` answer lists made from the session's keys: seen as the object they come from. */
function asSession(step: Step, tree: CanonTree): CanonTree {
  if (!Array.isArray(tree)) return tree
  if (step.op === 'keys') return { obj: tree.map((k) => [k as string, null]) }
  if (step.op === 'items') return { obj: tree.map((pair) => [(pair as CanonTree[])[0] as string, (pair as CanonTree[])[1]!]) }
  // Values carry no keys to place them by: compared as a multiset (see `byContent`).
  if (step.op === 'values') return [...tree].sort(byContent)
  return tree
}

/** Whether Django's result, read as JavaScript would read it (`numbers`), is ours but for integer-like key order. */
function explainedBy(ctx: Context, numbers: boolean): boolean {
  const { divergence } = ctx
  if (divergence.fields.join() !== 'r') return false
  const django = parts(divergence.django.r)
  const ours = parts(divergence.ours.r)
  if (django.length !== ours.length) return false
  return django.every((text, i) => {
    const theirs = parseCanon(text)
    const mine = parseCanon(ours[i]!)
    if (theirs === undefined || mine === undefined) return false
    const step = divergence.step
    return sameButIntegerKeys(asSession(step, numbers ? asJsNumbers(theirs) : theirs), asSession(step, mine))
  })
}

/** The engines compared with Django's cache engine; the others are cookie engines. */
function serverSide(ctx: Context): boolean {
  return ctx.seq.engine === 'cache'
}

// ---- the sequence's history -----------------------------------------------------------------------

/** Steps that write the store for a server-side engine, as both sides agreed they happened. */
function wrote(step: Step, observation: Observation): boolean {
  if (observation.r.startsWith('!')) return false
  return step.op === 'save' || step.op === 'cycle' || step.op === 'flush' || (step.op === 'commit' && observation.r.startsWith('set'))
}

/**
 * Whether, before step `until`, one request saved over another's write it had not seen: handle B,
 * opened before handle A wrote, wrote after it. Django's last writer wins; ours merge per key.
 */
function staleWriteBefore(ctx: Context, until: number): boolean {
  const openedAt = new Map<number, number>()
  const writes: Array<{ handle: number; at: number }> = []
  for (let i = 0; i < until; i++) {
    const step = ctx.seq.steps[i]!
    if (step.op === 'open') openedAt.set(step.h, i)
    else if ('h' in step && wrote(step, ctx.django[i]!)) {
      const handle = openedAt.get(step.h)
      if (handle === undefined) continue
      if (writes.some((w) => w.handle !== handle && w.at > handle)) return true
      writes.push({ handle, at: i })
    }
  }
  return false
}

/**
 * Whether some step up to the divergence had a load find nothing on our side (for `why`, when given)
 * and, on Django's, a load that found nothing too (`django: true`) or none that did not (`django: false`).
 * The two sides hold different sessions from there on, so what differs later may show requests later.
 */
function missed(ctx: Context, django: boolean, why?: string): boolean {
  for (let i = 0; i <= ctx.divergence.index; i++) {
    const ours = ctx.ours[i]!
    if (ours.miss > 0 && (why === undefined || ours.why === why) && ctx.django[i]!.miss > 0 === django) return true
  }
  return false
}

const READS = new Set<Step['op']>(['get', 'has', 'keys', 'values', 'items', 'isEmpty', 'getExpiryAge', 'getExpiryDate', 'getExpireAtBrowserClose', 'testCookieWorked'])

/**
 * The commits (step indexes) up to `until` at which ours did not write again: the handle had saved or
 * cycled in this request, within the same clock second, and only read since.
 */
function commitsNotRewritten(ctx: Context, until: number): number[] {
  const wroteIn = new Map<number, number>()
  const commits: number[] = []
  let now = ctx.seq.start
  for (let i = 0; i <= until; i++) {
    const step = ctx.seq.steps[i]!
    if (step.op === 'advance') now += step.ms
    if (!('h' in step)) continue
    const second = Math.floor(now / 1000)
    if (step.op === 'commit') {
      if (wroteIn.get(step.h) === second) commits.push(i)
      wroteIn.delete(step.h)
      // The commit's own save wrote the session as it is: another commit of the handle in that second skips it too.
      if (ctx.ours[i]!.r.startsWith('set')) wroteIn.set(step.h, second)
    } else if ((step.op === 'save' || step.op === 'cycle') && ctx.ours[i]!.r === 'ok') wroteIn.set(step.h, second)
    // A `mutate` that found nothing to change in place only read.
    else if (!READS.has(step.op) && !(step.op === 'mutate' && ctx.ours[i]!.r === 'skipped')) wroteIn.delete(step.h)
  }
  return commits
}

export const allowList: Allowed[] = [
  // First: its consequences (a record or cookie that expires earlier) would otherwise pass for item 1.
  {
    item: 19,
    title: 'the end-of-request save is skipped when the request already wrote the session as it is, in the same second',
    explains: (ctx) => {
      const { index, django, ours } = ctx.divergence
      const commits = commitsNotRewritten(ctx, index)
      if (commits.includes(index)) return django.r === '!Interrupted' && ours.r.startsWith('set')
      // Later: the record written earlier in that second expires that much earlier than Django's rewrite.
      return serverSide(ctx) && commits.length > 0 && ours.miss > 0 && django.miss === 0
    },
  },
  {
    item: 1,
    title: 'the cookie engine enforces the per-session expiry (and expiry at the second itself) on the server',
    explains: (ctx) => ctx.target === 'cookie' && missed(ctx, false, 'expired'),
  },
  {
    item: 13,
    title: "the Django-format cookie engine enforces a per-session asetExpiry() too (Django's signed_cookies only SESSION_COOKIE_AGE)",
    explains: (ctx) => ctx.target === 'django-cookie' && missed(ctx, false, 'expired'),
  },
  {
    item: 2,
    title: 'a cookie that fails to load is dropped (Django keeps the bad key, sets modified and re-issues a signed {})',
    explains: (ctx) => !serverSide(ctx) && missed(ctx, true),
  },
  {
    item: 5,
    title: 'keys starting with "_" are refused (SessionReservedKeyError)',
    explains: ({ divergence: { step, ours } }) =>
      ours.r === '!Reserved' &&
      (('key' in step && step.key.startsWith('_')) ||
        (step.op === 'update' && Object.keys(JSON.parse(step.value) as object).some((k) => k.startsWith('_')))),
  },
  {
    item: 6,
    title: 'integer-like keys come first (JavaScript object key order), nested objects and aupdate included',
    explains: (ctx) => explainedBy(ctx, false),
  },
  {
    item: 7,
    title: 'asetExpiry refuses more than 400 days; a garbled expiry counts as expired (Django returns it or raises TypeError)',
    explains: ({ divergence: { step, fields, ours } }) =>
      (step.op === 'setExpiry' && ours.r === '!SessionExpiryTooLong') ||
      ((step.op === 'getExpiryAge' || step.op === 'getExpiryDate') && step.expiry?.kind === 'garbage' && fields.join() === 'r'),
  },
  {
    item: 15,
    title: 'numbers are JavaScript doubles: 1.0 reads back as 1, 10**30 as 1e30, 2**53 + 1 as 2**53',
    explains: (ctx) => explainedBy(ctx, true),
  },
  {
    item: 16,
    title: 'two requests that change different keys of one session both keep their changes (Django: the last save wins)',
    // From the first stale write on, the store holds a merge Django never holds: anything may differ.
    explains: (ctx) => serverSide(ctx) && staleWriteBefore(ctx, ctx.divergence.index),
  },
  {
    item: 17,
    title: 'nothing is saved on any 5xx response (current Django); Django 3.2 skips only 500',
    explains: ({ divergence: { step, django, ours } }) =>
      step.op === 'commit' &&
      step.status !== undefined &&
      step.status > 500 &&
      ours.r.startsWith('none') &&
      (django.r.startsWith('set') || django.r === '!Interrupted'),
  },
  {
    item: 18,
    title: 'acycleKey() of a session whose record is gone raises SessionInterrupted (Django makes a new one with the data)',
    explains: (ctx) => serverSide(ctx) && ctx.divergence.step.op === 'cycle' && ctx.divergence.django.r === 'ok' && ctx.divergence.ours.r === '!Interrupted',
  },
  {
    item: 23,
    title: "a login's move keeps the record at least 60 s, so a request that outlasts the session's own expiry still saves (Django: SessionInterrupted)",
    explains: (ctx) => {
      const { index, step, django, ours } = ctx.divergence
      if (ctx.target !== 'upstash' || !('h' in step) || django.r !== '!Interrupted' || ours.r.startsWith('!')) return false
      // The handle cycled (moved) its session in this request, and the clock moved on after that.
      let moved = false
      for (let i = 0; i < index; i++) {
        const earlier = ctx.seq.steps[i]!
        if (earlier.op === 'open' && earlier.h === step.h) moved = false
        else if (earlier.op === 'cycle' && earlier.h === step.h && ctx.ours[i]!.r === 'ok') moved = true
        else if (earlier.op === 'advance' && moved) return true
      }
      return false
    },
  },
  {
    item: 22,
    title: "a request holding a key another request's key cycle moved away from sends no deletion cookie, and its writes raise SessionInterrupted",
    explains: (ctx) => {
      const { index, step, django, ours } = ctx.divergence
      if (!serverSide(ctx) || !('h' in step) || !cycledAwayFrom(ctx, step.h, index)) return false
      if (step.op === 'commit' && django.r.startsWith('delete')) return ours.r === django.r.replace(/^delete/, 'none')
      return ours.r === '!Interrupted' && !django.r.startsWith('!')
    },
  },
]

/**
 * Whether the request on handle `h` at `until` holds a key that a key cycle moved away from before that request first
 * touched its data (the cycle came before it opened, or from another request while it had not loaded yet), and it
 * has neither flushed nor cycled since. A flush of that key ends the race: the key is then simply gone.
 */
function cycledAwayFrom(ctx: Context, h: number, until: number): boolean {
  const requests = new Map<number, { key: Observation['k']; accessed: boolean; raced: boolean }>()
  const cycled = new Set<Observation['k']>()
  for (let i = 0; i < until; i++) {
    const step = ctx.seq.steps[i]!
    const ours = ctx.ours[i]!
    if (!('h' in step)) continue
    if (step.op === 'open') {
      requests.set(step.h, { key: ours.k, accessed: false, raced: ours.k != null && cycled.has(ours.k) })
      continue
    }
    const request = requests.get(step.h)
    if (!request) continue
    const from = request.key
    if ((step.op === 'cycle' || step.op === 'flush') && ours.r === 'ok' && from != null) {
      if (step.op === 'cycle') cycled.add(from)
      else cycled.delete(from)
      for (const [other, r] of requests) if (other !== step.h && r.key === from && !r.accessed) r.raced = step.op === 'cycle'
      request.raced = false
    }
    request.key = ours.k
    request.accessed ||= ours.a === true
  }
  return requests.get(h)?.raced ?? false
}

/** The README item that explains this divergence, if one does. */
export function explain(ctx: Context): Allowed | undefined {
  return allowList.find((entry) => entry.explains(ctx))
}

/**
 * What the two drivers of the Django differential test share: the operation sequences, the
 * observations, and the canonical text both sides render values in.
 *
 * A sequence is a series of "requests" by one client (a browser holding at most one session cookie).
 * A request opens a handle (`open`, Django's SessionMiddleware.process_request), works on it, and
 * usually ends with `commit` (SessionMiddleware.process_response / our commitSession). Two handles
 * open at once are two concurrent requests of the same client. `advance` moves the frozen clock;
 * `peek` is a new request that only reads what the client's cookie gives.
 *
 * Values travel as JSON text so that each side parses them natively: Python keeps `1.0` a float and
 * `10**30` exact, JavaScript does what JSON.parse does. That is the point: what a Django view and a
 * JavaScript handler see from the same input is what is compared.
 */

export type EngineName = 'cache' | 'signed_cookies'

export interface Config {
  cookieAge: number
  expireAtBrowserClose: boolean
  saveEveryRequest: boolean
}

export type ExpiryArg =
  | { kind: 'seconds'; n: number }
  | { kind: 'date'; offsetMs: number }
  | { kind: 'zero' }
  | { kind: 'null' }
  | { kind: 'garbage' }

export type Step =
  | { op: 'advance'; ms: number }
  | { op: 'open'; h: number }
  | { op: 'peek' }
  | { op: 'commit'; h: number; status?: number }
  | { op: 'get'; h: number; key: string; default?: string }
  | { op: 'set'; h: number; key: string; value: string }
  | { op: 'setdefault'; h: number; key: string; value: string }
  | { op: 'update'; h: number; value: string }
  | { op: 'mutate'; h: number; key: string; field: string; value: string }
  | { op: 'pop'; h: number; key: string; default?: string }
  | { op: 'del' | 'has'; h: number; key: string }
  | { op: 'setExpiry'; h: number; expiry: ExpiryArg }
  | { op: 'getExpiryAge' | 'getExpiryDate'; h: number; expiry?: ExpiryArg; modificationOffsetMs?: number }
  | {
      op:
        | 'keys'
        | 'values'
        | 'items'
        | 'clear'
        | 'isEmpty'
        | 'flush'
        | 'cycle'
        | 'save'
        | 'markModified'
        | 'getExpireAtBrowserClose'
        | 'setTestCookie'
        | 'testCookieWorked'
        | 'deleteTestCookie'
      h: number
    }

export interface Sequence {
  id: number
  engine: EngineName
  config: Config
  /** The frozen clock's first reading, in milliseconds since the epoch. */
  start: number
  steps: Step[]
}

/** What each side reports after a step. */
export interface Observation {
  /** The result in canonical text, or `!ErrorClass`. */
  r: string
  /** How many loads during this step found no record for the key they were given (a miss, a bad or expired cookie). */
  miss: number
  /** The handle's `modified` and `accessed` after the step, for steps on a handle. */
  m?: boolean
  a?: boolean
  /** Server-side engines: the handle's key, named by order of first appearance; signed cookies: "set" or null. */
  k?: number | string | null
  /** Ours only, never compared: why a load at this step found nothing (see Target.whyMissed). */
  why?: string
}

// ---- canonical text ------------------------------------------------------------------------------

/** JSON with every character outside printable ASCII escaped, exactly as Python's json.dumps(ensure_ascii=True). */
export function asciiJson(text: string): string {
  return JSON.stringify(text).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/**
 * Numbers keep what a reader of the value can tell apart: `i:` an integer the value holds exactly
 * (Python's int; a JavaScript safe integer), `f:` a float as its shortest round-trip digits and
 * exponent (Python's repr, JavaScript's toExponential()), so `1.0` and `1` differ, as they do in Django.
 */
export function canonNumber(n: number): string {
  if (Number.isNaN(n)) return 'f:nan'
  if (!Number.isFinite(n)) return n > 0 ? 'f:inf' : 'f:-inf'
  if (Object.is(n, -0)) return 'f:-0'
  if (Number.isSafeInteger(n)) return `i:${n}`
  const [mantissa, exponent] = n.toExponential().split('e') as [string, string]
  const sign = mantissa.startsWith('-') ? '-' : ''
  let digits = mantissa.replace('-', '').replace('.', '')
  let exp = Number(exponent) - (digits.length - 1)
  while (digits.length > 1 && digits.endsWith('0')) {
    digits = digits.slice(0, -1)
    exp++
  }
  return `f:${sign}${digits}e${exp}`
}

export function canon(value: unknown): string {
  if (value === null || value === undefined) return 'null'
  if (typeof value === 'boolean') return String(value)
  if (typeof value === 'number') return canonNumber(value)
  if (typeof value === 'string') return asciiJson(value)
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? '?InvalidDate' : asciiJson(value.toISOString())
  if (Array.isArray(value)) return `[${value.map(canon).join(',')}]`
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>
    return `{${Object.keys(record)
      .map((k) => `${asciiJson(k)}:${canon(record[k])}`)
      .join(',')}}`
  }
  return `?${typeof value}`
}

/** A parsed canonical value, for the allow-list's rewrites. Numbers stay as their token text. */
export type CanonTree = null | boolean | string | { num: string } | CanonTree[] | { obj: [string, CanonTree][] }

/** Parses canonical text (as produced by canon() here and in driver.py); `null` when it is not one. */
export function parseCanon(text: string): CanonTree | undefined {
  let i = 0
  const fail = (): never => {
    throw new Error('not canonical')
  }
  const str = (): string => {
    const start = i
    i++
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1
    if (i >= text.length) fail()
    i++
    return JSON.parse(text.slice(start, i)) as string
  }
  const value = (): CanonTree => {
    const c = text[i]
    if (c === '"') return str()
    if (c === '[') {
      i++
      const items: CanonTree[] = []
      if (text[i] === ']') return i++, items
      for (;;) {
        items.push(value())
        if (text[i] === ',') i++
        else if (text[i] === ']') return i++, items
        else fail()
      }
    }
    if (c === '{') {
      i++
      const entries: [string, CanonTree][] = []
      if (text[i] === '}') return i++, { obj: entries }
      for (;;) {
        if (text[i] !== '"') fail()
        const key = str()
        if (text[i++] !== ':') fail()
        entries.push([key, value()])
        if (text[i] === ',') i++
        else if (text[i] === '}') return i++, { obj: entries }
        else fail()
      }
    }
    for (const word of ['null', 'true', 'false'] as const) {
      if (text.startsWith(word, i)) {
        i += word.length
        return word === 'null' ? null : word === 'true'
      }
    }
    const m = /^(i:-?\d+|f:(-?\d+e-?\d+|-?0|nan|-?inf))/.exec(text.slice(i))
    if (!m) fail()
    i += m![0].length
    return { num: m![0] }
  }
  try {
    const tree = value()
    return i === text.length ? tree : undefined
  } catch {
    return undefined
  }
}

export function renderCanon(tree: CanonTree): string {
  if (tree === null) return 'null'
  if (typeof tree === 'boolean') return String(tree)
  if (typeof tree === 'string') return asciiJson(tree)
  if (Array.isArray(tree)) return `[${tree.map(renderCanon).join(',')}]`
  if ('num' in tree) return tree.num
  return `{${tree.obj.map(([k, v]) => `${asciiJson(k)}:${renderCanon(v)}`).join(',')}}`
}

// ---- the generator -------------------------------------------------------------------------------

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

type Weighted<T> = ReadonlyArray<readonly [number, T]>

class Gen {
  constructor(readonly random: () => number) {}
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.random() * (hi - lo + 1))
  }
  chance(p: number): boolean {
    return this.random() < p
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!
  }
  weighted<T>(items: Weighted<T>): T {
    let total = 0
    for (const [w] of items) total += w
    let r = this.random() * total
    for (const [w, item] of items) {
      r -= w
      if (r < 0) return item
    }
    return items[items.length - 1]![1]
  }
}

const KEYS: Weighted<string> = [
  [10, 'a'],
  [10, 'b'],
  [8, 'cart'],
  [8, 'user'],
  [4, 'name'],
  [3, 'testcookie'],
  [1, 'ключ ✓'],
  [1, 'constructor'],
  // Integer-like keys: JavaScript puts them first in an object (README difference 6).
  [1, '0'],
  [1, '10'],
]
/** Keys starting with "_" are refused for writing (README difference 5): read them only, but for a rare write. */
const READ_ONLY_KEYS: Weighted<string> = [...KEYS, [2, '_session_expiry'], [1, '__proto__']]
const FIELDS: Weighted<string> = [
  [6, 'id'],
  [6, 'items'],
  [4, 'name'],
  [1, '7'],
]

/** A JSON text. The rarest scalars are numbers JavaScript reads differently (README difference 15). */
function valueText(g: Gen, depth = 0): string {
  const scalar = (): string =>
    g.weighted<() => string>([
      [10, () => String(g.int(-5, 100))],
      [4, () => g.pick(['1.5', '-0.25', '0.1', '3.14159', '2.5e-7', '123456.789'])],
      [10, () => asciiJson(g.pick(['v', 'blue', '', 'a "quoted" \\ string', 'é ✓ 😀', 'line\nbreak']))],
      // Longer than 64 bytes, as real session values are (a user record, a token).
      [4, () => JSON.stringify(`${g.pick(['ada', 'grace', 'linus'])}:`.padEnd(g.int(65, 200), 'x'))],
      [3, () => g.pick(['true', 'false'])],
      [2, () => 'null'],
      [1, () => g.pick(['1.0', '2.50e1', '1000000000000000000000000000000', '9007199254740993', '100.0'])],
    ])()
  if (depth >= 2) return scalar()
  return g.weighted<() => string>([
    [10, scalar],
    [3, () => `[${Array.from({ length: g.int(0, 3) }, () => valueText(g, depth + 1)).join(',')}]`],
    [
      3,
      () => {
        const keys = [...new Set(Array.from({ length: g.int(0, 3) }, () => g.weighted(FIELDS)))]
        return `{${keys.map((k) => `${JSON.stringify(k)}:${valueText(g, depth + 1)}`).join(',')}}`
      },
    ],
  ])()
}

function expiryArg(g: Gen, cookieAge: number, forQuery = false): ExpiryArg {
  return g.weighted<() => ExpiryArg>([
    [6, () => ({ kind: 'seconds', n: g.pick([1, 5, 10, 30, 59, 60, 61, 100, 3600, cookieAge, cookieAge + 1]) })],
    [2, () => ({ kind: 'seconds', n: g.pick([0.5, 1.5, 2.25, -1, -10]) })],
    [4, () => ({ kind: 'date', offsetMs: g.pick([-5000, 0, 1500, 10_000, 30_000, 60_000, 120_000, 86_400_000]) })],
    [2, () => ({ kind: 'zero' })],
    [3, () => ({ kind: 'null' })],
    [forQuery ? 1 : 0, () => ({ kind: 'garbage' })],
    // Past the 400 days a browser keeps a cookie: refused here (README difference 7).
    [forQuery ? 0 : 0.3, () => g.pick<ExpiryArg>([{ kind: 'seconds', n: 40_000_000 }, { kind: 'date', offsetMs: 500 * 86_400_000 }])],
  ])()
}

/** One operation on handle `h`. */
function operation(g: Gen, h: number, config: Config): Step {
  const key = (): string => g.weighted(KEYS)
  return g.weighted<() => Step>([
    [8, () => ({ op: 'get', h, key: g.weighted(READ_ONLY_KEYS), ...(g.chance(0.3) ? { default: valueText(g, 1) } : {}) })],
    [14, () => ({ op: 'set', h, key: key(), value: valueText(g) })],
    [0.2, () => ({ op: 'set', h, key: g.pick(['_reserved', '__proto__']), value: '1' })],
    [4, () => ({ op: 'del', h, key: key() })],
    [4, () => ({ op: 'has', h, key: g.weighted(READ_ONLY_KEYS) })],
    [4, () => ({ op: 'pop', h, key: key(), ...(g.chance(0.5) ? { default: valueText(g, 1) } : {}) })],
    [3, () => ({ op: 'setdefault', h, key: key(), value: valueText(g) })],
    [
      4,
      () => {
        const keys = [...new Set(Array.from({ length: g.int(0, 3) }, key))]
        return { op: 'update', h, value: `{${keys.map((k) => `${JSON.stringify(k)}:${valueText(g)}`).join(',')}}` }
      },
    ],
    [5, () => ({ op: 'mutate', h, key: g.pick(['cart', 'user', 'a']), field: g.weighted(FIELDS), value: valueText(g, 1) })],
    [1, () => ({ op: 'markModified', h })],
    [3, () => ({ op: 'keys', h })],
    [2, () => ({ op: 'values', h })],
    [3, () => ({ op: 'items', h })],
    [2, () => ({ op: 'clear', h })],
    [3, () => ({ op: 'isEmpty', h })],
    [2, () => ({ op: 'flush', h })],
    [3, () => ({ op: 'cycle', h })],
    [4, () => ({ op: 'save', h })],
    [6, () => ({ op: 'setExpiry', h, expiry: expiryArg(g, config.cookieAge) })],
    [
      3,
      () => ({
        op: g.pick(['getExpiryAge', 'getExpiryDate'] as const),
        h,
        ...(g.chance(0.3) ? { expiry: expiryArg(g, config.cookieAge, true) } : {}),
        ...(g.chance(0.2) ? { modificationOffsetMs: g.pick([-2000, 0, 500, 7000]) } : {}),
      }),
    ],
    [2, () => ({ op: 'getExpireAtBrowserClose', h })],
    [2, () => ({ op: 'setTestCookie', h })],
    [2, () => ({ op: 'testCookieWorked', h })],
    [2, () => ({ op: 'deleteTestCookie', h })],
    [3, () => advance(g, config)],
  ])()
}

function advance(g: Gen, config: Config): Step {
  const age = config.cookieAge * 1000
  return { op: 'advance', ms: g.pick([250, 500, 1000, 1500, 5000, 10_000, 30_000, 60_000, 61_000, age - 1000, age, age + 1000]) }
}

/** A seeded sequence: the same seed gives the same sequence on every machine. */
export function generate(seed: number, engine: EngineName): Sequence {
  const g = new Gen(rng(seed))
  const config: Config = {
    cookieAge: g.chance(0.5) ? 60 : 1_209_600,
    expireAtBrowserClose: g.chance(0.2),
    saveEveryRequest: g.chance(0.2),
  }
  const steps: Step[] = []
  const requests = g.int(1, 6)
  for (let r = 0; r < requests; r++) {
    // Sometimes two requests of the client run at once: handle 1 opens with the same cookie.
    const handles = g.chance(0.2) ? [0, 1] : [0]
    for (const h of handles) steps.push({ op: 'open', h })
    const count = g.int(0, 9)
    for (let i = 0; i < count; i++) steps.push(operation(g, g.pick(handles), config))
    for (const h of g.chance(0.5) ? handles : [...handles].reverse()) {
      if (g.chance(0.9)) steps.push({ op: 'commit', h, ...(g.chance(0.03) ? { status: g.pick([500, 500, 503]) } : {}) })
    }
    if (g.chance(0.4)) steps.push(advance(g, config))
    if (g.chance(0.5)) steps.push({ op: 'peek' })
  }
  return { id: seed, engine, config, start: 1_893_456_000_000 + g.int(0, 86_400) * 1000, steps }
}

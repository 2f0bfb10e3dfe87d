/**
 * Real Django as the oracle (issue 14). Seeded random operation sequences run on Django 3.2's own
 * session code (test/django/driver.py: the cache engine over locmem, signed_cookies, its
 * SessionMiddleware, a frozen clock) and on ours (memory ↔ cache, cookie and the Django-format
 * cookie engine ↔ signed_cookies, Upstash over real Redis ↔ cache), compared after every step: each result or error, `modified`,
 * `accessed`, the session key, the cookie the middleware sends (or deletes, or not), `Vary`, and what
 * the next request finds.
 *
 * A difference is either one README "Where we differ from Django" lists (test/django/allow-list.ts
 * names the item) or a failure, reported with the shortest sequence that still shows it.
 *
 * DJANGO_SEQUENCES is the total (a few thousand in `npm test`, 100 000 in `npm run fuzz`), shared
 * out between the engines; DJANGO_SEED picks another set of sequences (the default is fixed).
 */
import { afterAll, describe, expect, it, vi } from 'vitest'
import { describeRun, firstDivergence, shrink } from './django/compare.js'
import { allowList, explain } from './django/allow-list.js'
import { startOracle } from './django/oracle.js'
import { runOurs, type Target } from './django/ours.js'
import { generate, type Observation, type Sequence, type Step } from './django/protocol.js'
import { cookieTarget, djangoCookieTarget, memoryTarget, upstashTarget } from './django/targets.js'
import { upstashFixture } from './support/upstash.js'

const TOTAL = Number(process.env.DJANGO_SEQUENCES ?? 3000)
const SEED = Number(process.env.DJANGO_SEED ?? 14)
/** Upstash costs a few HTTP round trips per step: it gets a smaller share. */
const SHARE = { memory: 0.36, cookie: 0.3, djangoCookie: 0.28, upstash: 0.06 } as const
const IN_FLIGHT = 64
/** Development aid: list every kind of unexplained divergence (shrunk) instead of failing at the first. */
const EXPLORE = process.env.DJANGO_EXPLORE === '1'

const oracle = await startOracle()
const fx = oracle ? await upstashFixture() : null
afterAll(async () => {
  await oracle?.close()
  await fx?.close()
})

const setClock = (ms: number): void => void vi.setSystemTime(ms)

async function both(seq: Sequence, target: Target): Promise<{ django: Observation[]; ours: Observation[] }> {
  const pending = oracle!.run(seq)
  const ours = await runOurs(seq, target, setClock)
  return { django: await pending, ours }
}

/** The first divergence no README item explains, or null. */
async function unexplained(seq: Sequence, target: Target): Promise<boolean> {
  const { django, ours } = await both(seq, target)
  const divergence = firstDivergence(seq, django, ours)
  return divergence !== null && !explain({ seq, target: target.name, divergence, django, ours })
}

function differential(target: Target, share: number): void {
  const count = Math.max(1, Math.round(TOTAL * share))
  it(`${target.name} ↔ Django ${target.django}: ${count} sequences, every difference is a numbered README item`, { timeout: Math.max(120_000, count * 60) }, async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      const started = performance.now()
      const allowed = new Map<number, number>()
      const explored = new Map<string, Sequence[]>()
      let identical = 0
      let steps = 0
      // Django works ahead on the next sequences while ours run.
      const queue: Array<{ seq: Sequence; answer: Promise<Observation[]> }> = []
      const enqueue = (i: number): void => {
        if (i >= count) return
        const seq = generate(SEED * 1_000_003 + i, target.django)
        queue.push({ seq, answer: oracle!.run(seq) })
      }
      for (let i = 0; i < IN_FLIGHT; i++) enqueue(i)
      for (let i = 0; i < count; i++) {
        enqueue(i + IN_FLIGHT)
        const { seq, answer } = queue.shift()!
        const ours = await runOurs(seq, target, setClock)
        const django = await answer
        steps += seq.steps.length
        const divergence = firstDivergence(seq, django, ours)
        if (!divergence) {
          identical++
          continue
        }
        const entry = explain({ seq, target: target.name, divergence, django, ours })
        if (entry) {
          allowed.set(entry.item, (allowed.get(entry.item) ?? 0) + 1)
          continue
        }
        if (EXPLORE) {
          const name = `${divergence.step.op} ${divergence.fields.join('+')}`
          if (!explored.has(name)) explored.set(name, [])
          explored.get(name)!.push(seq)
          continue
        }
        await Promise.allSettled(queue.map((q) => q.answer))
        const smallest = await shrink(seq, (candidate) => unexplained(candidate, target))
        const run = await both(smallest, target)
        const d = firstDivergence(smallest, run.django, run.ours)!
        expect.fail(
          `${target.name} differs from Django ${oracle!.version} at step ${d.index} (${d.fields.join(', ')}) in a way ` +
            `no README "Where we differ from Django" item explains. Shortest sequence found (from seed ${seq.id}, ` +
            `${seq.steps.length} steps):\n${describeRun(smallest, run.django, run.ours)}`,
        )
      }
      for (const [name, found] of explored) {
        const smallest = await shrink(found[0]!, (candidate) => unexplained(candidate, target), { seconds: 10 })
        const run = await both(smallest, target)
        console.log(`[explore] ${target.name} ${name} ×${found.length}\n${describeRun(smallest, run.django, run.ours)}`)
      }
      const items = [...allowed].sort(([a], [b]) => a - b).map(([item, n]) => `#${item}: ${n}`)
      console.log(
        `[django-differential] ${target.name} ↔ ${target.django} (Django ${oracle!.version}): ${count} sequences, ${steps} steps, ` +
          `${identical} identical throughout, stopped at a documented difference: ${items.join(', ') || 'none'} ` +
          `(${Math.round(performance.now() - started)} ms)`,
      )
      expect([...explored.keys()], 'unexplained divergences (listed above)').toEqual([])
      // A generator that never reaches the end of a sequence in agreement would prove little.
      expect(identical).toBeGreaterThan(count / 4)
    } finally {
      vi.useRealTimers()
    }
  })
}

/**
 * One hand-written sequence per README item: each must part from Django exactly there, and the
 * allow-list must name exactly that item. If we ever behave as Django does, the item goes.
 */
/** Every engine that runs without a service, and the server-side ones (Upstash when Redis is here). */
const everyLocal: Target[] = [memoryTarget, cookieTarget, djangoCookieTarget]
const serverSide: Target[] = [memoryTarget, ...(fx ? [upstashTarget(fx)] : [])]

const pinned: Array<{ item: number; targets: Target[]; steps: Step[]; cookieAge?: number }> = [
  ...([1, 13] as const).map((item) => ({
    item,
    targets: [item === 1 ? cookieTarget : djangoCookieTarget],
    steps: [
      { op: 'open', h: 0 },
      { op: 'set', h: 0, key: 'user', value: '"ada"' },
      { op: 'setExpiry', h: 0, expiry: { kind: 'seconds', n: 10 } },
      { op: 'commit', h: 0 },
      { op: 'advance', ms: 10_000 },
      { op: 'open', h: 0 },
      { op: 'get', h: 0, key: 'user' },
    ] as Step[],
  })),
  {
    item: 2,
    targets: [cookieTarget, djangoCookieTarget],
    cookieAge: 60,
    steps: [
      { op: 'open', h: 0 },
      { op: 'set', h: 0, key: 'user', value: '"ada"' },
      { op: 'commit', h: 0 },
      { op: 'advance', ms: 61_000 },
      { op: 'open', h: 0 },
      { op: 'get', h: 0, key: 'user' },
      { op: 'commit', h: 0 },
    ],
  },
  { item: 5, targets: everyLocal, steps: [{ op: 'open', h: 0 }, { op: 'set', h: 0, key: '_auth_user_id', value: '"1"' }] },
  {
    item: 6,
    targets: everyLocal,
    steps: [
      { op: 'open', h: 0 },
      { op: 'set', h: 0, key: 'user', value: '{"name":1,"0":"v"}' },
      { op: 'get', h: 0, key: 'user' },
    ],
  },
  {
    item: 6,
    targets: everyLocal,
    steps: [{ op: 'open', h: 0 }, { op: 'update', h: 0, value: '{"c":1,"0":"v"}' }, { op: 'keys', h: 0 }],
  },
  {
    item: 6,
    targets: everyLocal,
    steps: [{ op: 'open', h: 0 }, { op: 'set', h: 0, key: 'b', value: '1' }, { op: 'set', h: 0, key: '10', value: '2' }, { op: 'commit', h: 0 }, { op: 'peek' }],
  },
  {
    item: 7,
    targets: [memoryTarget],
    steps: [{ op: 'open', h: 0 }, { op: 'getExpiryDate', h: 0, expiry: { kind: 'garbage' } }],
  },
  {
    item: 7,
    targets: everyLocal,
    steps: [{ op: 'open', h: 0 }, { op: 'setExpiry', h: 0, expiry: { kind: 'seconds', n: 401 * 86_400 } }],
  },
  ...['1.0', '1000000000000000000000000000000', '9007199254740993'].map((value) => ({
    item: 15,
    targets: everyLocal,
    steps: [{ op: 'open', h: 0 }, { op: 'set', h: 0, key: 'n', value }, { op: 'commit', h: 0 }, { op: 'peek' }] as Step[],
  })),
  {
    // Issue 14 item 3: A sets x and saves; B opens and reads; A sets y and saves; B sets z and saves.
    item: 16,
    targets: serverSide,
    steps: [
      { op: 'open', h: 0 },
      { op: 'set', h: 0, key: 'x', value: '1' },
      { op: 'commit', h: 0 },
      { op: 'open', h: 0 },
      { op: 'open', h: 1 },
      { op: 'get', h: 1, key: 'x' },
      { op: 'set', h: 0, key: 'y', value: '2' },
      { op: 'commit', h: 0 },
      { op: 'set', h: 1, key: 'z', value: '3' },
      { op: 'commit', h: 1 },
      { op: 'peek' },
    ],
  },
  {
    item: 17,
    targets: everyLocal,
    steps: [{ op: 'open', h: 0 }, { op: 'set', h: 0, key: 'a', value: '1' }, { op: 'commit', h: 0, status: 503 }],
  },
  {
    item: 18,
    targets: serverSide,
    steps: [
      { op: 'open', h: 0 },
      { op: 'set', h: 0, key: 'user', value: '"ada"' },
      { op: 'commit', h: 0 },
      { op: 'open', h: 0 },
      { op: 'open', h: 1 },
      { op: 'get', h: 0, key: 'user' },
      { op: 'flush', h: 1 },
      { op: 'cycle', h: 0 },
    ],
  },
  {
    item: 19,
    targets: serverSide,
    cookieAge: 60,
    steps: [
      { op: 'open', h: 0 },
      { op: 'set', h: 0, key: 'user', value: '"ada"' },
      { op: 'cycle', h: 0 },
      { op: 'advance', ms: 500 },
      { op: 'commit', h: 0 },
      { op: 'advance', ms: 59_500 },
      { op: 'peek' },
    ],
  },
]

describe.skipIf(!oracle)('Django differential: each README difference, as real Django shows it', () => {
  for (const { item, targets, steps, cookieAge } of pinned) {
    const entry = allowList.find((e) => e.item === item)!
    for (const target of targets) {
      it(`differs from Django: README item ${item} on ${target.name} (${entry?.title})`, async () => {
        expect(entry, `README item ${item} has no allow-list entry`).toBeDefined()
        vi.useFakeTimers({ toFake: ['Date'] })
        try {
          const seq: Sequence = {
            id: 0,
            engine: target.django,
            config: { cookieAge: cookieAge ?? 1_209_600, expireAtBrowserClose: false, saveEveryRequest: false },
            start: 1_893_456_000_000,
            steps,
          }
          const { django, ours } = await both(seq, target)
          const divergence = firstDivergence(seq, django, ours)
          expect(divergence, `no difference from Django:\n${describeRun(seq, django, ours)}`).not.toBeNull()
          expect(explain({ seq, target: target.name, divergence: divergence!, django, ours })?.item, describeRun(seq, django, ours)).toBe(item)
        } finally {
          vi.useRealTimers()
        }
      })
    }
  }
})

describe.skipIf(!oracle)('Django differential', () => {
  differential(memoryTarget, SHARE.memory)
  differential(cookieTarget, SHARE.cookie)
  differential(djangoCookieTarget, SHARE.djangoCookie)
  describe.skipIf(!fx)('over real Redis', () => {
    if (fx) differential(upstashTarget(fx), SHARE.upstash)
  })
})

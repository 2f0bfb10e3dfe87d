/**
 * upstashRevocation() against a scripted client (issue 15): the keys it names (default and given prefix), the time
 * it checks liveness at, what each index reply to a save becomes (CreateError, UpdateError), and a failing client as
 * SessionStoreUnavailable naming the step. test/revocation.test.ts runs it against real Redis.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { CreateError, SessionStoreUnavailable, UpdateError } from '../src/errors.js'
import type { UpstashClient } from '../src/engines/upstash.js'
import { sha256Hex } from '../src/lib/crypto.js'
import { upstashRevocation } from '../src/revocation/upstash.js'

afterEach(() => void vi.useRealTimers())

/** A client whose eval answers with the next reply (an Error is thrown), recording keys and arguments. */
function scripted(...replies: unknown[]) {
  const calls: { keys: string[]; args: string[] }[] = []
  const client = {
    eval: async (_script: string, keys: string[], args: string[]) => {
      calls.push({ keys, args })
      const next = replies.shift()
      if (next instanceof Error) throw next
      return next
    },
    exists: async () => 0,
    del: async () => 0,
  }
  return { client: client as unknown as UpstashClient, calls }
}

const hash = await sha256Hex('u1')

describe('upstashRevocation', () => {
  it("keeps its keys under 'edge-session:revocation:' by default, or the given prefix", async () => {
    const a = scripted(1)
    await upstashRevocation({ redis: a.client }).isLive('u1', 'sid')
    expect(a.calls[0]!.keys).toEqual([`edge-session:revocation:u:${hash}`, `edge-session:revocation:u:${hash}:m`, 'edge-session:revocation:c:sid'])
    const b = scripted(1)
    await upstashRevocation({ redis: b.client, prefix: 'app:' }).isLive('u1', 'sid')
    expect(b.calls[0]!.keys[0]).toBe(`app:u:${hash}`)
  })

  it('checks liveness at the current time', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: 1_700_000_000_000 })
    const { client, calls } = scripted(1, 0)
    const store = upstashRevocation({ redis: client })
    expect(await store.isLive('u1', 'sid')).toBe(true)
    expect(await store.isLive('u1', 'sid')).toBe(false)
    expect(calls[0]!.args).toEqual(['sid', '1700000000000'])
  })

  it('a save the index accepts (1) resolves; 0 (the id is live already) is CreateError; -1 (ended) is UpdateError', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: 1_700_000_000_000 })
    const { client, calls } = scripted(1, 0, -1)
    const store = upstashRevocation({ redis: client })
    const entry = { expires: 1_700_000_600_000, label: 'phone' }
    await expect(store.track('u1', 'sid', entry, 'create')).resolves.toBeUndefined()
    await expect(store.track('u1', 'sid', entry, 'create')).rejects.toBeInstanceOf(CreateError)
    await expect(store.track('u1', 'sid', entry, 'update')).rejects.toBeInstanceOf(UpdateError)
    expect(calls[0]!.args).toEqual(['sid', 'create', '1700000600000', '1700000000000', 'phone'])
  })

  it('a client that fails is SessionStoreUnavailable naming the step, with the failure as its cause', async () => {
    const failure = new Error('connection refused')
    const { client } = scripted(failure)
    const err = await upstashRevocation({ redis: client }).isLive('u1', 'sid').then(
      () => null,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(SessionStoreUnavailable)
    expect((err as Error).message).toContain('check a session')
    expect((err as Error).cause).toBeInstanceOf(Error)
  })

  it('endCycled: 1 (ended and marked) resolves; -1 (not live: a logout won) is UpdateError', async () => {
    const { client, calls } = scripted(1, -1)
    const store = upstashRevocation({ redis: client })
    await expect(store.endCycled!('u1', 'sid')).resolves.toBeUndefined()
    await expect(store.endCycled!('u1', 'sid')).rejects.toBeInstanceOf(UpdateError)
    expect(calls[0]!.keys[2]).toBe('edge-session:revocation:c:sid')
  })

  it('list and end go to the index', async () => {
    const { client, calls } = scripted(['~sid', '~9000', '~{"c":1,"s":2,"l":"phone"}'], 1)
    const store = upstashRevocation({ redis: client })
    expect(await store.list('u1')).toEqual([{ id: 'sid', created: new Date(1), lastSeen: new Date(2), expires: new Date(9000), label: 'phone' }])
    await store.end('u1', { allExcept: 'sid' })
    expect(calls[1]!.args).toEqual(['all', 'sid', '0'])
  })
})

// Checked by tsc (npm test runs `npm run typecheck` first): the @ts-expect-error lines fail the build if they stop erroring.
import { describe, expectTypeOf, it } from 'vitest'
import { createSessionStore, memoryEngine, type Session } from '../src/index.js'

interface Cart {
  userId: number
  role: 'admin' | 'user'
  items: { sku: string; qty: number }[]
}

const store = createSessionStore<Cart>({ secret: 's'.repeat(32), engine: memoryEngine() })

describe('typed session data', () => {
  it('types aget/aset/apop by key', async () => {
    const session = store.open()
    expectTypeOf(session).toEqualTypeOf<Session<Cart>>()
    expectTypeOf(session.aget('userId')).resolves.toEqualTypeOf<number | undefined>()
    expectTypeOf(session.aget('role', 'user')).resolves.toEqualTypeOf<'admin' | 'user'>()
    expectTypeOf(session.apop('items', [])).resolves.toEqualTypeOf<Cart['items']>()
    expectTypeOf(session.asetdefault('userId', 1)).resolves.toEqualTypeOf<number>()
    expectTypeOf(session.sessionKey).toEqualTypeOf<string | null>()
    // @ts-expect-error: not a key of Cart
    await session.aget('nope').catch(() => undefined)
    // @ts-expect-error: wrong value type for the key
    await session.aset('userId', 'forty-two').catch(() => undefined)
    // @ts-expect-error: aupdate checks value types too
    await session.aupdate({ role: 'root' }).catch(() => undefined)
  })
})

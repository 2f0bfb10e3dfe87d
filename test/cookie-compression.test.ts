/**
 * When the signed-cookie engine deflates: from 128 bytes of serialized data, only when deflate saves more than
 * the one flag byte it costs (Django's rule, behaviour 104), and only when the data would inflate back under
 * `maxInflatedSize` at load. Read from the payload's flag: ":" plain, "." deflated.
 */
import { describe, expect, it } from 'vitest'
import { cookieEngine, createSessionStore } from '../src/index.js'
import { SessionConfigError } from '../src/errors.js'
import { deflate } from '../src/lib/compress.js'
import { noise } from './support/noise.js'

const SECRET = 'cookie compression test secret, 32+ bytes'
const utf8 = (text: string) => new TextEncoder().encode(text)

/** Saves `data` as a first save does and returns the payload's flag, checking the cookie loads back. */
async function flagFor(data: Record<string, unknown>, maxInflatedSize?: number): Promise<string> {
  const store = createSessionStore({ secret: SECRET, engine: cookieEngine(maxInflatedSize ? { maxInflatedSize } : {}) })
  const session = store.open()
  await session.aupdate(data)
  await session.asave()
  const token = session.sessionKey!
  expect(Object.fromEntries(await store.open(token).aitems())).toEqual(data)
  const payload = Buffer.from(token.split('.')[1]!, 'base64url').toString('latin1')
  return /^\d+-\d+([:.])/.exec(payload)![1]!
}

/** The first `{ k: noise(n) }` whose serialized form deflate shortens by exactly `saved` bytes. */
function dataSaving(saved: number): { k: string } {
  for (let n = 120; n < 1000; n++) {
    const body = utf8(JSON.stringify({ k: noise(n) }))
    if (body.length >= 128 && body.length - deflate(body).length === saved) return { k: noise(n) }
  }
  throw new Error(`no data found that deflate shortens by exactly ${saved} bytes`)
}

describe('cookie compression', () => {
  it('deflates only when it saves more than the flag byte: 1 byte saved stays plain, 2 bytes deflate', async () => {
    expect(await flagFor(dataSaving(1))).toBe(':')
    expect(await flagFor(dataSaving(2))).toBe('.')
  })

  it('leaves data that deflate would grow plain', async () => {
    const data = dataSaving(-1)
    expect(await flagFor(data)).toBe(':')
  })

  it('starts at 128 bytes of serialized data: 127 stay plain however well they would compress', async () => {
    // {"k":"…"} is 8 bytes around the value.
    expect(utf8(JSON.stringify({ k: 'x'.repeat(119) })).length).toBe(127)
    expect(await flagFor({ k: 'x'.repeat(119) })).toBe(':')
    expect(await flagFor({ k: 'x'.repeat(120) })).toBe('.')
  })

  it('deflates data up to exactly maxInflatedSize bytes, which loads back; one byte more stays plain', async () => {
    const data = { k: 'x'.repeat(992) }
    expect(utf8(JSON.stringify(data)).length).toBe(1000)
    expect(await flagFor(data, 1000)).toBe('.')
    expect(await flagFor(data, 999)).toBe(':')
  })

  it('maxInflatedSize: 1 byte is the least accepted; 0 is refused, naming the option and the rule', async () => {
    expect(await flagFor({ k: 'x'.repeat(120) }, 1)).toBe(':')
    expect(() => cookieEngine({ maxInflatedSize: 0 })).toThrow(SessionConfigError)
    expect(() => cookieEngine({ maxInflatedSize: 0 })).toThrow('"maxInflatedSize" must be a positive whole number of bytes.')
  })
})

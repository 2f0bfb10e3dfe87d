/**
 * Host for Node, Bun and Deno: one JSON call per stdin line, one `{ id, ...outcome }` line per answer on stdout.
 * Pipes need no permission in Deno, so the suite runs there with none at all.
 */
import { run, type Call } from '../suite.js'

interface DenoLike {
  // A ReadableStream, which Deno makes async-iterable.
  stdin: { readable: AsyncIterable<Uint8Array> }
  stdout: { write(bytes: Uint8Array): Promise<number> }
}
interface NodeLike {
  stdin: AsyncIterable<Uint8Array>
  stdout: { write(text: string): boolean }
}
const deno = (globalThis as { Deno?: DenoLike }).Deno
const node = (globalThis as { process?: NodeLike }).process!

async function* lines(): AsyncGenerator<string> {
  const decoder = new TextDecoder()
  let buffered = ''
  const input: AsyncIterable<Uint8Array> = deno ? deno.stdin.readable : node.stdin
  for await (const chunk of input) {
    buffered += decoder.decode(chunk, { stream: true })
    let end: number
    while ((end = buffered.indexOf('\n')) >= 0) {
      yield buffered.slice(0, end)
      buffered = buffered.slice(end + 1)
    }
  }
}

const encoder = new TextEncoder()
// Writes are chained so answers never interleave, whichever call finishes first.
let writing: Promise<unknown> = Promise.resolve()
function answer(text: string): void {
  writing = writing.then(async () => {
    if (deno) {
      const bytes = encoder.encode(text + '\n')
      for (let sent = 0; sent < bytes.length; ) sent += await deno.stdout.write(bytes.subarray(sent))
    } else {
      node.stdout.write(text + '\n')
    }
  })
}

answer(JSON.stringify({ id: 0, ok: true, value: 'ready' }))
for await (const line of lines()) {
  if (!line.trim()) continue
  const { id, ...call } = JSON.parse(line) as Call & { id: number }
  void run(call).then((outcome) => answer(JSON.stringify({ id, ...outcome })))
}

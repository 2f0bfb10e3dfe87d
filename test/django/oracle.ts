/**
 * Real Django, one long-lived process (test/django/driver.py on Debian's python3-django), fed
 * sequences as JSON lines. Many sequences can be in flight: Python works on them while Node runs ours.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { Observation, Sequence } from './protocol.js'

/** Debian's python3-django runs on the system Python, not on a pyenv `python3` earlier on PATH. */
const PYTHON = process.env.DJANGO_PYTHON ?? '/usr/bin/python3'
const DRIVER = fileURLToPath(new URL('./driver.py', import.meta.url))

export interface Oracle {
  version: string
  run(seq: Sequence): Promise<Observation[]>
  close(): Promise<void>
}

function startProcess(): { child: ChildProcessWithoutNullStreams; send(request: object): Promise<Record<string, unknown>> } {
  const child = spawn(PYTHON, ['-u', DRIVER], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)))
  const waiting: Array<{ resolve: (answer: Record<string, unknown>) => void; reject: (err: Error) => void }> = []
  const failAll = (why: string): void => {
    for (const w of waiting.splice(0)) w.reject(new Error(`Django driver ${why}: ${stderr}`))
  }
  child.once('error', (err) => failAll(`failed to start (${err.message})`))
  child.once('exit', (code) => failAll(`exited with ${code}`))
  // A driver that died is reported by 'exit' above; writing to it after that must not crash the run.
  child.stdin.on('error', (err) => failAll(`stopped reading (${err.message})`))
  // Answers come back in request order: one line per request.
  createInterface({ input: child.stdout }).on('line', (line) => {
    const next = waiting.shift()
    if (next) next.resolve(JSON.parse(line) as Record<string, unknown>)
  })
  return {
    child,
    send(request) {
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject })
        child.stdin.write(`${JSON.stringify(request)}\n`)
      })
    },
  }
}

/**
 * Starts Django, or returns `null` after printing why it cannot — except under CI=true, where a
 * missing Django throws: CI must never pass by skipping the oracle.
 */
export async function startOracle(): Promise<Oracle | null> {
  let reason = `${PYTHON} is missing`
  if (existsSync(PYTHON)) {
    const { child, send } = startProcess()
    try {
      const { version } = (await send({ op: 'version' })) as { version: string }
      return {
        version,
        async run(seq) {
          const answer = await send(seq)
          return answer.trace as Observation[]
        },
        async close() {
          child.stdin.end()
          if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve))
        },
      }
    } catch (err) {
      child.kill()
      reason = (err as Error).message.trim().split('\n').slice(-1)[0]!
    }
  }
  reason = `Django is not available (${reason}); install it with \`apt-get install -y python3-django\` (Django 3.2, run by /usr/bin/python3)`
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`)
  console.warn(`[skip] ${reason}`)
  return null
}

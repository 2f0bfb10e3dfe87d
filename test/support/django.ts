import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** Debian's python3-django runs on the system Python, not on a pyenv `python3` earlier on PATH. */
const PYTHON = '/usr/bin/python3'
const DRIVER = fileURLToPath(new URL('./django_signing.py', import.meta.url))

/** Sends one request to real Django (test/support/django_signing.py) and returns its JSON answer. */
export function django<T = Record<string, unknown>>(request: Record<string, unknown>): T {
  const run = spawnSync(PYTHON, [DRIVER], { input: JSON.stringify(request), encoding: 'utf8' })
  if (run.status !== 0) throw new Error(`Django driver failed (${run.status}): ${run.stderr}`)
  return JSON.parse(run.stdout) as T
}

/**
 * Django's version, or null when it is missing. Under CI=true a missing Django throws: CI must never
 * pass by skipping the interop proof.
 */
export function djangoVersion(): string | null {
  let reason = `${PYTHON} is missing`
  if (existsSync(PYTHON)) {
    try {
      return django<{ version: string }>({ op: 'version' }).version
    } catch (err) {
      reason = (err as Error).message
    }
  }
  reason = `Django is not available (${reason}); install it with \`apt-get install -y python3-django\``
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`)
  console.warn(`[skip] ${reason}`)
  return null
}

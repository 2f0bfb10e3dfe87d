import { existsSync } from 'node:fs'

/** Debian's Chromium, never a downloaded one (.ci/run installs it). */
export const CHROMIUM = '/usr/bin/chromium'
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** Missing under CI=true is a failure (thrown on import), elsewhere a skip with a printed reason. */
export const haveChromium = existsSync(CHROMIUM)
if (!haveChromium) {
  if (process.env.CI === 'true') throw new Error(`CI=true and ${CHROMIUM} is missing: install it (apt-get install -y chromium).`)
  console.warn(`[skip] browser suite: ${CHROMIUM} is missing. Install it with: apt-get install -y chromium`)
}

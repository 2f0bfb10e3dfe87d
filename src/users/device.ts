/**
 * A short, human label for a session list ("Firefox on Linux") from a User-Agent header. Deliberately coarse:
 * it names what a person recognises, never a version, so it identifies a device to its owner and nobody else.
 *
 * @module
 */

const BROWSERS: ReadonlyArray<[RegExp, string]> = [
  [/\bEdg(e|A|iOS)?\//, 'Edge'],
  [/\bOPR\/|\bOpera\b/, 'Opera'],
  [/\bFirefox\/|\bFxiOS\//, 'Firefox'],
  [/\bCriOS\/|\bChrom(e|ium)\/|\bHeadlessChrome\//, 'Chrome'],
  [/\bSafari\//, 'Safari'],
]

const SYSTEMS: ReadonlyArray<[RegExp, string]> = [
  [/\biPhone\b/, 'iPhone'],
  [/\biPad\b/, 'iPad'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b/, 'Linux'],
]

function first(table: ReadonlyArray<[RegExp, string]>, text: string): string | null {
  for (const [pattern, name] of table) if (pattern.test(text)) return name
  return null
}

/**
 * @example
 * ```ts
 * await users.alogin(session, user.id, { label: deviceLabel((await headers()).get('user-agent')) })
 * ```
 */
export function deviceLabel(userAgent: string | null | undefined): string {
  const text = typeof userAgent === 'string' ? userAgent.slice(0, 512) : ''
  const browser = first(BROWSERS, text)
  const system = first(SYSTEMS, text)
  if (browser && system) return `${browser} on ${system}`
  return browser ?? system ?? 'Unknown device'
}

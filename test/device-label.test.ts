/**
 * deviceLabel(): the coarse "browser on system" label a session list shows, from a User-Agent header. Real
 * User-Agents carry several browsers' tokens (Edge says Chrome and Safari, Chrome says Safari, an iPhone says
 * Mac OS X, Android says Linux): the label names the one the person is using.
 */
import { describe, expect, it } from 'vitest'
import { deviceLabel } from '../src/users/index.js'

const UA = {
  chromeWindows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  edgeWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
  operaMac:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0',
  firefoxLinux: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  safariIphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  firefoxIpad:
    'Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15',
  chromeAndroid: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  chromeOs: 'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  safariMac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
}

describe('deviceLabel', () => {
  it('names the browser in use, not the ones its User-Agent imitates, and the system', () => {
    expect(deviceLabel(UA.chromeWindows)).toBe('Chrome on Windows')
    expect(deviceLabel(UA.edgeWindows)).toBe('Edge on Windows')
    expect(deviceLabel(UA.operaMac)).toBe('Opera on macOS')
    expect(deviceLabel(UA.firefoxLinux)).toBe('Firefox on Linux')
    expect(deviceLabel(UA.safariIphone)).toBe('Safari on iPhone')
    expect(deviceLabel(UA.firefoxIpad)).toBe('Firefox on iPad')
    expect(deviceLabel(UA.chromeAndroid)).toBe('Chrome on Android')
    expect(deviceLabel(UA.chromeOs)).toBe('Chrome on ChromeOS')
    expect(deviceLabel(UA.safariMac)).toBe('Safari on macOS')
  })

  it('names the browser alone, or the system alone, when only one is recognised', () => {
    expect(deviceLabel('Firefox/133.0')).toBe('Firefox')
    expect(deviceLabel('curl/8.5 (Linux)')).toBe('Linux')
  })

  it('says "Unknown device" for a missing, empty or unrecognised User-Agent', () => {
    for (const ua of [null, undefined, '', 'curl/8.5.0']) expect(deviceLabel(ua)).toBe('Unknown device')
  })

  it('reads only the first 512 characters: a token after them is not looked at', () => {
    expect(deviceLabel(`${'x'.repeat(503)} Firefox/1`)).toBe('Firefox')
    expect(deviceLabel(`${'x'.repeat(504)} Firefox/1`)).toBe('Unknown device')
  })
})

'use server'

import type { SessionTooLarge } from 'edge-session/errors'
import { safeNextPath } from 'edge-session/next'
import { deviceLabel } from 'edge-session/users'
import { headers } from 'next/headers'
import { redirect } from 'next/navigation'
import { DEMO_USER } from '../lib/demo-user'
import { COLORS, NOTICES } from '../lib/preferences'
import { flash, getSession, REMEMBER_FOR, requireSession, signedIn, users } from '../lib/session'

// The middleware gates pages, not these: an action is a POST to whatever page holds the form, so each
// action that needs a signed-in user says so itself with requireSession(). login and the cookie check
// are public on purpose.

export async function login(formData: FormData): Promise<void> {
  const next = safeNextPath(formData.get('next')) ?? '/account'
  const username = String(formData.get('username') ?? '')
  if (username !== DEMO_USER.username || formData.get('password') !== DEMO_USER.password) {
    // The username comes back to the form; the password never goes into a URL.
    redirect(`/login?error=1&username=${encodeURIComponent(username)}&next=${encodeURIComponent(next)}`)
  }
  const session = await getSession()
  // A new key at login: a key planted before sign-in is worthless after it (session fixation). Where the engine
  // keeps a per-user index, alogin() does that and binds the session to the user, for /account/sessions.
  if (users) await users.alogin(session, DEMO_USER.username, { label: deviceLabel((await headers()).get('user-agent')) })
  else await session.acycleKey()
  await session.aset('user', { username: DEMO_USER.username, name: DEMO_USER.name })
  // 0 = the cookie ends when the browser closes.
  await session.asetExpiry(formData.get('remember') === 'on' ? REMEMBER_FOR : 0)
  // Shown once, on the page the redirect lands on (a reload does not show it again).
  await flash.success(NOTICES['signed-in'])
  redirect(next)
}

export async function logout(): Promise<void> {
  await (await requireSession(signedIn)).aflush()
  await flash.info(NOTICES['signed-out'])
  redirect('/login')
}

export async function savePreferences(formData: FormData): Promise<void> {
  const session = await requireSession(signedIn)
  const color = String(formData.get('fav_color') ?? '')
  const note = String(formData.get('note') ?? '')
  if (!(COLORS as readonly string[]).includes(color)) redirect('/preferences?error=color')
  let tooLarge: SessionTooLarge | null = null
  try {
    await session.aupdate(note ? { fav_color: color, note } : { fav_color: color })
    if (!note) await session.apop('note', undefined)
  } catch (err) {
    // A cookie over 4096 bytes: nothing was written; say so on the page instead of a bare 500.
    // (Errors are told apart by their stable code.)
    if ((err as { code?: unknown } | null)?.code !== 'ERR_SESSION_TOO_LARGE') throw err
    tooLarge = err as SessionTooLarge
  }
  if (tooLarge) redirect(`/preferences?error=too-large&size=${tooLarge.size}&limit=${tooLarge.limit}`)
  await flash.success(NOTICES.saved)
  redirect('/preferences')
}

export async function startCookieCheck(): Promise<void> {
  await (await getSession()).asetTestCookie()
  // The answer needs a second request: only then has the browser had the chance to send the cookie back.
  redirect('/cookie-check?step=verify')
}

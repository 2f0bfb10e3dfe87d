'use server'

import { safeNextPath } from 'edge-session/next'
import { redirect } from 'next/navigation'
import { DEMO_USER } from '../lib/demo-user'
import { getSession, REMEMBER_FOR } from '../lib/session'

export async function login(formData: FormData): Promise<void> {
  const next = safeNextPath(formData.get('next')) ?? '/account'
  if (formData.get('username') !== DEMO_USER.username || formData.get('password') !== DEMO_USER.password) {
    redirect(`/login?error=1&next=${encodeURIComponent(next)}`)
  }
  const session = await getSession()
  // A new key at login: a key planted before sign-in is worthless after it (session fixation).
  await session.acycleKey()
  await session.aset('user', { username: DEMO_USER.username, name: DEMO_USER.name })
  // 0 = the cookie ends when the browser closes.
  await session.asetExpiry(formData.get('remember') === 'on' ? REMEMBER_FOR : 0)
  redirect(next)
}

export async function logout(): Promise<void> {
  await (await getSession()).aflush()
  redirect('/login')
}

export async function savePreferences(formData: FormData): Promise<void> {
  const color = String(formData.get('fav_color') ?? '')
  await (await getSession()).aset('fav_color', color)
  redirect('/preferences?saved=1')
}

export async function startCookieCheck(): Promise<void> {
  await (await getSession()).asetTestCookie()
  // The answer needs a second request: only then has the browser had the chance to send the cookie back.
  redirect('/cookie-check?step=verify')
}

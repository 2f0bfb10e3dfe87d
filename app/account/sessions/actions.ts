'use server'

import { redirect } from 'next/navigation'
import { requireSession, signedIn, users } from '../../../lib/session'

/** Every action here needs a signed-in user and an engine that keeps a per-user index (the page says when it does not). */
async function signedInWithUsers() {
  if (!users) redirect('/account/sessions')
  return { session: await requireSession(signedIn), users }
}

/** "Sign out" on one row: that device's session ends; on this device's row it is a logout. */
export async function endSession(formData: FormData): Promise<void> {
  const { session, users } = await signedInWithUsers()
  const id = String(formData.get('id') ?? '')
  const self = (await users.alist(session)).find((entry) => entry.id === id)?.current ?? false
  await users.aend(session, id)
  redirect(self ? '/login' : '/account/sessions?did=ended-one')
}

export async function endOtherSessions(): Promise<void> {
  const { session, users } = await signedInWithUsers()
  await users.aendOthers(session)
  redirect('/account/sessions?did=ended-others')
}

export async function endAllSessions(): Promise<void> {
  const { session, users } = await signedInWithUsers()
  await users.aendAll(session)
  redirect('/login')
}

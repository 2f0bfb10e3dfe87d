import type { Metadata } from 'next'
import Link from 'next/link'
import { Suspense, type ReactNode } from 'react'
import { ENGINE_LABEL, getSession } from '../lib/session'
import { logout } from './actions'
import { FlashMessages } from './flash-messages'
import './globals.css'

export const metadata: Metadata = {
  title: 'edge-session demo',
  description: "Django's session framework on Next.js and the edge runtime.",
}

/** Who is signed in. It reads the session, so with Cache Components it streams in behind a Suspense boundary. */
async function SignedInAs() {
  // The page below calls getSession() too: both share one load per request.
  const user = await (await getSession()).aget('user')
  return user ? (
    <form action={logout}>
      <span data-testid="nav-user">{user.name}</span>
      <button type="submit" className="link">
        Log out
      </button>
    </form>
  ) : (
    <Link href="/login">Log in</Link>
  )
}

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <header className="bar">
          <Link href="/" className="brand">
            edge-session
          </Link>
          <span className="engine" data-testid="engine">
            engine: {ENGINE_LABEL}
          </span>
          <nav>
            <Link href="/account">Account</Link>
            <Link href="/preferences">Preferences</Link>
            <Link href="/cookie-check">Cookie check</Link>
          </nav>
          <div className="who">
            <Suspense fallback={<span className="hint">…</span>}>
              <SignedInAs />
            </Suspense>
          </div>
        </header>
        <main>
          <Suspense fallback={null}>
            <FlashMessages />
          </Suspense>
          {children}
        </main>
      </body>
    </html>
  )
}

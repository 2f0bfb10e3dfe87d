import type { Metadata } from 'next'
import Link from 'next/link'
import type { ReactNode } from 'react'
import { getSession } from '../lib/session'
import { logout } from './actions'
import './globals.css'

export const metadata: Metadata = {
  title: 'edge-session demo',
  description: "Django's session framework on Next.js and the edge runtime.",
}

export default async function RootLayout({ children }: { children: ReactNode }) {
  // The page below calls getSession() too: both share one load per request.
  const user = await (await getSession()).aget('user')
  return (
    <html lang="en">
      <body>
        <header className="bar">
          <Link href="/" className="brand">
            edge-session
          </Link>
          <nav>
            <Link href="/account">Account</Link>
            <Link href="/preferences">Preferences</Link>
            <Link href="/cookie-check">Cookie check</Link>
          </nav>
          <div className="who">
            {user ? (
              <form action={logout}>
                <span data-testid="nav-user">{user.name}</span>
                <button type="submit" className="link">
                  Log out
                </button>
              </form>
            ) : (
              <Link href="/login">Log in</Link>
            )}
          </div>
        </header>
        <main>{children}</main>
      </body>
    </html>
  )
}

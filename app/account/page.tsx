import Link from 'next/link'
import { durationInWords } from '../../lib/format'
import { ENGINE_LABEL, getSession, store } from '../../lib/session'

export default async function AccountPage() {
  const session = await getSession()
  const user = await session.aget('user')
  const atBrowserClose = await session.agetExpireAtBrowserClose()
  const age = await session.agetExpiryAge()
  const date = await session.agetExpiryDate()
  const data = Object.fromEntries(await session.aitems())
  const cookieBytes = `${store.settings.cookieName}=${session.sessionKey ?? ''}`.length
  return (
    <section className="card">
      <h1>Your account</h1>
      <dl className="facts">
        <dt>Signed in as</dt>
        <dd data-testid="user">{user ? `${user.name} (${user.username})` : 'nobody'}</dd>
        <dt>Session ends</dt>
        <dd data-testid="expiry">
          {atBrowserClose
            ? `when you close the browser (and on the server after ${durationInWords(age)} at most)`
            : `in ${durationInWords(age)}, on ${date.toUTCString()}, unless you visit again`}
        </dd>
        <dt>Remembered</dt>
        <dd data-testid="remembered">{atBrowserClose ? 'no: a browser-session cookie' : 'yes: the cookie has an expiry date'}</dd>
        <dt>Engine</dt>
        <dd data-testid="account-engine">{ENGINE_LABEL}</dd>
        <dt>Cookie size</dt>
        <dd data-testid="cookie-size">
          {cookieBytes} bytes of the 4096 a browser keeps
          {ENGINE_LABEL === 'signed cookie' ? ' (the data rides in the cookie, signed)' : ' (the cookie holds only the key)'}
        </dd>
      </dl>
      <p>
        <Link href="/account/sessions" data-testid="sessions-link">
          Your sessions on every device
        </Link>
      </p>
      <h2>What the session holds</h2>
      <pre className="data" data-testid="session-data">
        {JSON.stringify(data, null, 2)}
      </pre>
      <p className="hint">
        Keys starting with <code>_</code> are the library&rsquo;s own (<code>_session_expiry</code> is set by{' '}
        <code>asetExpiry</code>, as in Django).
      </p>
    </section>
  )
}

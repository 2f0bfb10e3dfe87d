import { getSession } from '../../lib/session'

export default async function AccountPage() {
  const session = await getSession()
  const user = await session.aget('user')
  const atBrowserClose = await session.agetExpireAtBrowserClose()
  const age = await session.agetExpiryAge()
  const date = await session.agetExpiryDate()
  return (
    <section className="card">
      <h1>Your account</h1>
      <dl className="facts">
        <dt>Signed in as</dt>
        <dd data-testid="user">{user ? `${user.name} (${user.username})` : 'nobody'}</dd>
        <dt>Ends when the browser closes</dt>
        <dd data-testid="browser-close">{atBrowserClose ? 'yes' : 'no'}</dd>
        <dt>Expiry age</dt>
        <dd data-testid="expiry-age">{age} seconds</dd>
        <dt>Expires</dt>
        <dd data-testid="expiry-date">{atBrowserClose ? 'when the browser closes' : date.toUTCString()}</dd>
      </dl>
    </section>
  )
}

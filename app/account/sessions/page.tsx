import { ENGINE_LABEL, getSession, users } from '../../../lib/session'
import type { SearchParamsProps } from '../../../lib/page'
import { Notice } from '../../notice'
import { endAllSessions, endOtherSessions, endSession } from './actions'

const NOTICES = {
  'ended-one': 'That session has ended: its cookie no longer signs anyone in.',
  'ended-others': 'Every other device has been signed out.',
}

function when(date: Date): string {
  return date.toUTCString().replace(' GMT', ' UTC')
}

/** This user's live sessions (users.alist), with the three ways to end them. */
export default async function SessionsPage({ searchParams }: SearchParamsProps) {
  const { did } = await searchParams
  if (!users) {
    return (
      <section className="card">
        <h1>Your sessions</h1>
        <p data-testid="no-index">
          The {ENGINE_LABEL} engine here keeps no per-user index, so sessions cannot be listed or ended remotely. Run the
          demo with <code>SESSION_ENGINE=upstash</code>, or with <code>SESSION_REVOCATION=upstash</code> for signed
          cookies that can be revoked.
        </p>
      </section>
    )
  }
  const sessions = await users.alist(await getSession())
  return (
    <section className="card">
      <Notice did={did} known={NOTICES} />
      <h1>Your sessions</h1>
      <table className="sessions" data-testid="sessions">
        <thead>
          <tr>
            <th>Device</th>
            <th>Signed in</th>
            <th>Last seen</th>
            <th>Expires</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {sessions.map((entry) => (
            <tr key={entry.id} data-testid="session-row" data-current={entry.current ? 'yes' : 'no'}>
              <td>
                {entry.label ?? 'Unknown device'}
                {entry.current ? <strong> (this device)</strong> : null}
              </td>
              <td>{when(entry.created)}</td>
              <td>{when(entry.lastSeen)}</td>
              <td>{when(entry.expires)}</td>
              <td>
                <form action={endSession}>
                  <input type="hidden" name="id" value={entry.id} />
                  <button type="submit" className="link" data-testid={entry.current ? 'end-this' : 'end-one'}>
                    {entry.current ? 'Sign out this device' : 'Sign out'}
                  </button>
                </form>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="row">
        <form action={endOtherSessions}>
          <button type="submit" data-testid="end-others">
            Sign out other devices
          </button>
        </form>
        <form action={endAllSessions}>
          <button type="submit" data-testid="end-all">
            Sign out everywhere
          </button>
        </form>
      </div>
      <p className="hint">
        Ending a session ends every copy of its cookie at once: on the Upstash engine its record is deleted; on signed
        cookies the revocation store stops listing it, and the cookie is checked there on every request.
      </p>
    </section>
  )
}

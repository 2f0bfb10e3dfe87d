import { safeNextPath } from 'edge-session/next'
import { DEMO_USER } from '../../lib/demo-user'
import type { SearchParamsProps } from '../../lib/page'
import { login } from '../actions'

export default async function LoginPage({ searchParams }: SearchParamsProps) {
  const params = await searchParams
  const next = safeNextPath(params.next) ?? '/account'
  const username = typeof params.username === 'string' ? params.username : ''
  return (
    <section className="card narrow">
      <h1>Log in</h1>
      {params.error ? (
        <p className="error" role="alert" data-testid="login-error">
          Wrong username or password. Nothing was written to the session.
        </p>
      ) : null}
      <form action={login} className="stack">
        <input type="hidden" name="next" value={next} />
        <label>
          Username
          <input name="username" autoComplete="username" defaultValue={username} required />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" autoFocus={username !== ''} required />
        </label>
        <label className="check">
          <input type="checkbox" name="remember" /> Remember me for 30 days
        </label>
        <button type="submit">Log in</button>
      </form>
      <p className="hint">
        Demo account: <code>{DEMO_USER.username}</code> / <code>{DEMO_USER.password}</code>
      </p>
    </section>
  )
}

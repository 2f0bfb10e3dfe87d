import { safeNextPath } from 'edge-session/next'
import { DEMO_USER } from '../../lib/demo-user'
import { login } from '../actions'

export default async function LoginPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams
  const next = safeNextPath(params.next) ?? '/account'
  return (
    <section className="card narrow">
      <h1>Log in</h1>
      {params.error ? (
        <p className="error" role="alert">
          Wrong username or password.
        </p>
      ) : null}
      <form action={login} className="stack">
        <input type="hidden" name="next" value={next} />
        <label>
          Username
          <input name="username" autoComplete="username" required />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required />
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

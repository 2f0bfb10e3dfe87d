import { cookies } from 'next/headers'
import { typedStore } from '../../lib/typed-session'

/**
 * A typed session: the same session the other pages use, read through a schema (lib/typed-session.ts).
 * What the page gets is typed from the schema and has been checked against it.
 */
export default async function TypedSessionPage() {
  const session = typedStore.open((await cookies()).get(typedStore.settings.cookieName)?.value, { readOnly: true })
  const user = await session.aget('user')
  const color = await session.aget('fav_color')
  return (
    <section className="card narrow">
      <h1>Typed session</h1>
      <p className="hint">
        Read through a valibot schema with <code>withSchema()</code>: a stored session that does not match loads as empty.
      </p>
      <dl>
        <dt>user</dt>
        <dd data-testid="typed-user">{user ? `${user.name} (${user.username})` : 'none'}</dd>
        <dt>fav_color</dt>
        <dd data-testid="typed-color">{color ?? 'not set'}</dd>
      </dl>
    </section>
  )
}

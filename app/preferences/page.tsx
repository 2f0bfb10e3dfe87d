import type { SearchParamsProps } from '../../lib/page'
import { COLORS } from '../../lib/preferences'
import { getSession } from '../../lib/session'
import { savePreferences } from '../actions'

export default async function PreferencesPage({ searchParams }: SearchParamsProps) {
  const { error, size, limit } = await searchParams
  const session = await getSession()
  const color = await session.aget('fav_color')
  const note = await session.aget('note')
  return (
    <section className="card narrow">
      {error === 'too-large' ? (
        <p className="error" role="alert" data-testid="pref-error">
          Not saved: the session cookie would be {size} bytes, over the {limit}-byte limit browsers keep (SessionTooLarge).
          Keep a shorter note, or use the Upstash engine, whose cookie holds only a key.
        </p>
      ) : error === 'color' ? (
        <p className="error" role="alert" data-testid="pref-error">
          Not saved: pick one of the colours offered.
        </p>
      ) : null}
      <h1>Preferences</h1>
      <p>
        Favourite colour: <strong data-testid="fav-color">{color ?? 'not set'}</strong>
      </p>
      <form action={savePreferences} className="stack">
        <label>
          Choose one
          <select name="fav_color" defaultValue={color ?? 'blue'}>
            {COLORS.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
        <label>
          A note to keep in the session (optional)
          <textarea name="note" rows={3} defaultValue={note ?? ''} />
        </label>
        <button type="submit">Save</button>
      </form>
    </section>
  )
}

import { getSession } from '../../lib/session'
import { savePreferences } from '../actions'

const COLORS = ['red', 'green', 'blue', 'purple'] as const

export default async function PreferencesPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const { saved } = await searchParams
  const color = await (await getSession()).aget('fav_color')
  return (
    <section className="card narrow">
      <h1>Preferences</h1>
      <p>
        Favourite colour: <strong data-testid="fav-color">{color ?? 'not set'}</strong>
        {saved ? <span className="saved"> saved</span> : null}
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
        <button type="submit">Save</button>
      </form>
    </section>
  )
}

/** Every page reads the session or the query, both known only at request time: this is their Suspense fallback. */
export default function Loading() {
  return <section className="card narrow hint">Loading…</section>
}

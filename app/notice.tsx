/** The line saying what the last action did, from the `did` query parameter the action redirected with. */
export function Notice({ did, known }: { did: string | string[] | undefined; known: Record<string, string> }) {
  const text = typeof did === 'string' ? known[did] : undefined
  return text ? (
    <p className="ok notice" role="status" data-testid="notice">
      {text}
    </p>
  ) : null
}

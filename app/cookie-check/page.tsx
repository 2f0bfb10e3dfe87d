import { startCookieCheck } from '../actions'

export default async function CookieCheckPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const { result, step } = await searchParams
  return (
    <section className="card narrow">
      <h1>Cookie check</h1>
      <p>
        Django&rsquo;s two-request test: the first request stores a test value in the session, the second looks for it and
        removes it.
      </p>
      {result === 'worked' ? (
        <p className="ok" data-testid="cookie-result">
          Cookies work in this browser.
        </p>
      ) : result === 'failed' ? (
        <p className="error" data-testid="cookie-result">
          Cookies do not work in this browser: enable them to log in.
        </p>
      ) : null}
      {step === 'verify' ? (
        // A plain form post to the route handler: the browser sends back whatever cookie it kept.
        <form method="post" action="/cookie-check/verify">
          <p>Step 1 done: a test value is in your session.</p>
          <button type="submit">Step 2: see if it came back</button>
        </form>
      ) : (
        <form action={startCookieCheck}>
          <button type="submit">Check cookies</button>
        </form>
      )}
    </section>
  )
}

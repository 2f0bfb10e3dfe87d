import Link from 'next/link'

export default function Home() {
  return (
    <section className="card">
      <h1>Sessions, the Django way</h1>
      <p>
        This app keeps its session in a signed cookie (or in Upstash Redis when <code>SESSION_ENGINE=upstash</code>). The
        middleware on the edge runtime guards <Link href="/account">/account</Link> and{' '}
        <Link href="/preferences">/preferences</Link>; server components read the session, server actions write it.
      </p>
      <ul className="steps">
        <li>
          <Link href="/login">Log in</Link> with the demo account, with or without &ldquo;remember me&rdquo;.
        </li>
        <li>
          See the session&rsquo;s expiry on <Link href="/account">your account</Link>.
        </li>
        <li>
          Keep a favourite colour across requests on <Link href="/preferences">preferences</Link>.
        </li>
        <li>
          Ask whether your browser keeps cookies on <Link href="/cookie-check">cookie check</Link>.
        </li>
      </ul>
    </section>
  )
}

import { flash, getSession } from '../../../lib/session'

/**
 * Step two of Django's test-cookie flow, as a route handler: it writes (it removes the test value),
 * and getSession() commits that before the response leaves, with no save call here.
 */
export async function POST(): Promise<Response> {
  const session = await getSession()
  const worked = await session.atestCookieWorked()
  if (worked) await session.adeleteTestCookie()
  // A route handler's flash message waits in its cookie for the next page visit, where the middleware hands it over.
  await flash.add(worked ? 'success' : 'error', worked ? 'The test cookie came back: this browser keeps cookies.' : 'The test cookie did not come back.')
  // A relative Location: request.url names the host Next listens on, which need not be the one the browser used.
  return new Response(null, { status: 303, headers: { location: `/cookie-check?result=${worked ? 'worked' : 'failed'}` } })
}

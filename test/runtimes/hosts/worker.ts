/** Host for workerd: a module worker answering `POST /` with one call's outcome. */
import { run, type Call } from '../suite.js'

export default {
  async fetch(request: Request): Promise<Response> {
    if (request.method !== 'POST') return new Response('POST a call', { status: 405 })
    return Response.json(await run((await request.json()) as Call))
  },
}

/**
 * A Hono app on edge-session: a visit counter, login and logout. The same module is the Cloudflare Worker
 * (`export default app`: wrangler.toml points here) and, through src/bun.ts, a Bun server.
 */
import { Hono } from 'hono'
import { cookieEngine, createSessionStore, SessionError, type SessionStore } from 'edge-session'
import { upstashEngine } from 'edge-session/upstash'
import { sessions, type SessionVariables } from './session.js'

/** Workers hand secrets and variables to each request as bindings, not through process.env. */
export interface Bindings {
  SESSION_SECRET: string
  /** Set both to keep sessions in Upstash Redis (revocable); leave them out for encrypted cookies. */
  UPSTASH_REDIS_REST_URL?: string
  UPSTASH_REDIS_REST_TOKEN?: string
}

interface AppSession {
  user?: { name: string }
  visits?: number
}

type AppEnv = { Bindings: Bindings; Variables: SessionVariables<AppSession> }

// One store per isolate, made on the first request, when the bindings are known. Every option is passed,
// so nothing is looked up in an environment the runtime may not have.
let store: SessionStore<AppSession> | undefined
function storeFor(env: Bindings): SessionStore<AppSession> {
  const { SESSION_SECRET: secret, UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: token } = env
  return (store ??= createSessionStore<AppSession>({
    secret,
    secretFallbacks: [],
    cookieSecure: true, // Workers serve HTTPS; browsers also accept Secure cookies from http://localhost
    engine: url && token ? upstashEngine({ redis: { url, token } }) : cookieEngine({ encrypt: true }),
  }))
}

export const app = new Hono<AppEnv>()

app.use(sessions<AppSession, AppEnv>((c) => storeFor(c.env)))

app.get('/', async (c) => {
  const session = c.get('session')
  const visits = ((await session.aget('visits')) ?? 0) + 1
  await session.aset('visits', visits)
  return c.json({ visits, user: (await session.aget('user'))?.name ?? null })
})

app.post('/login', async (c) => {
  const name = String((await c.req.parseBody()).name ?? '')
  // Checking a password is yours to do; here any name is accepted.
  if (!name) return c.json({ error: 'name is required' }, 400)
  const session = c.get('session')
  await session.acycleKey() // a new key at login: defeats session fixation
  await session.aset('user', { name })
  return c.json({ user: name })
})

app.post('/logout', async (c) => {
  await c.get('session').aflush()
  return c.json({ user: null })
})

app.get('/me', async (c) => {
  const user = await c.get('session').aget('user')
  return user ? c.json({ user: user.name }) : c.json({ error: 'not signed in' }, 401)
})

// A store that cannot be reached fails closed: 503, never a silent logout.
app.onError((err, c) => {
  if (err instanceof SessionError && err.code === 'ERR_SESSION_STORE_UNAVAILABLE') return c.json({ error: 'sessions are unavailable' }, 503)
  throw err
})

export default app

/** The same app as a Bun server: `SESSION_SECRET=… bun run src/bun.ts`. Bun serves a default export with `fetch`. */
import { app, type Bindings } from './app.js'

const env = process.env as Partial<Bindings> & { PORT?: string }
if (!env.SESSION_SECRET) throw new Error('Set SESSION_SECRET to at least 32 random bytes (openssl rand -base64 32).')
const bindings: Bindings = { ...env, SESSION_SECRET: env.SESSION_SECRET }

export default {
  hostname: '127.0.0.1',
  port: Number(env.PORT ?? 3000),
  fetch: (request: Request) => app.fetch(request, bindings),
}

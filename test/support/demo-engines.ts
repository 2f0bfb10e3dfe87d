import { startUpstashServer } from '../../scripts/upstash-rest-server'
import { startRedis } from './redis'

/** An engine run of the demo: the server environment it needs, and how to release what it started. */
export interface DemoEngineSetup {
  env: Record<string, string>
  stop(): Promise<void>
}

export interface DemoEngine {
  name: 'cookie' | 'upstash'
  /** `null` = its service is unavailable here (the suite skips; under CI=true startRedis throws first). */
  setup(): Promise<DemoEngineSetup | null>
}

/**
 * The demo's two engines, as the browser suites run them (`describe.each(demoEngines)`): signed cookies, which need
 * nothing, and Upstash, on real Redis behind a REST server of its own (port 0, so suites in parallel never share one).
 */
export const demoEngines: DemoEngine[] = [
  { name: 'cookie', setup: async () => ({ env: { SESSION_ENGINE: 'cookie' }, stop: async () => {} }) },
  {
    name: 'upstash',
    async setup() {
      const redis = await startRedis()
      if (!redis) return null
      const rest = await startUpstashServer({ token: 'e2e-token', redisUrl: redis.url, port: 0 })
      return {
        env: { SESSION_ENGINE: 'upstash', UPSTASH_REDIS_REST_URL: rest.url, UPSTASH_REDIS_REST_TOKEN: rest.token },
        async stop() {
          await rest.close()
          await redis.stop()
        },
      }
    },
  },
]

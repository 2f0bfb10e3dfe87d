/**
 * `npm run dev:redis`: Redis (the one on 127.0.0.1:6379 if it answers, else a private redis-server)
 * plus the local Upstash REST server on 127.0.0.1:8079, for running the demo on the Upstash engine.
 */
import { startRedis } from '../test/support/redis.js'
import { startUpstashServer } from './upstash-rest-server.js'

const DEV_TOKEN = 'edge-session-dev-token'

const redis = await startRedis({ preferShared: true })
if (!redis) process.exit(1)
const server = await startUpstashServer({ token: DEV_TOKEN, port: Number(process.env.PORT ?? 8079), redisUrl: redis.url })
console.log(
  `Redis: ${redis.url}${redis.private ? ' (private, data is lost on exit)' : ''}\n` +
    `Upstash REST server: ${server.url}\n\n` +
    `UPSTASH_REDIS_REST_URL=${server.url}\nUPSTASH_REDIS_REST_TOKEN=${DEV_TOKEN}\n`,
)
const stop = (): void =>
  void server
    .close()
    .then(() => redis.stop())
    .then(() => process.exit(0))
process.on('SIGINT', stop)
process.on('SIGTERM', stop)

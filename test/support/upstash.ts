import { Redis as UpstashRedis, type RedisConfigNodejs } from '@upstash/redis'
import Redis from 'ioredis'
import { startUpstashServer, type UpstashServer } from '../../scripts/upstash-rest-server.js'
import { startRedis, tcpProxy, type RedisHandle, type TcpProxy } from './redis.js'

export const SECRET = 'upstash-test-secret-'.padEnd(40, 'x')

/** A real Redis, a TCP proxy in front of it (to take it away), and the REST server through that proxy. */
export interface UpstashFixture {
  redis: RedisHandle
  proxy: TcpProxy
  server: UpstashServer
  /** A direct connection to Redis, to look behind the engine's back. */
  direct: Redis
  /** An `@upstash/redis` client for the server: no retries unless asked, so a failure answers at once. */
  client(options?: Partial<RedisConfigNodejs>): UpstashRedis
  close(): Promise<void>
}

/** `null` (after printing why) when no Redis can be had; throws instead under CI=true (see startRedis). */
export async function upstashFixture(): Promise<UpstashFixture | null> {
  const redis = await startRedis()
  if (!redis) return null
  const proxy = await tcpProxy(redis.port, redis.host)
  const server = await startUpstashServer({ token: 'test-token', redisUrl: `redis://127.0.0.1:${proxy.port}`, port: 0 })
  const direct = new Redis(redis.url, { protocol: 2 })
  return {
    redis,
    proxy,
    server,
    direct,
    client: (options = {}) => new UpstashRedis({ url: server.url, token: server.token, retry: false, ...options }),
    async close() {
      direct.disconnect()
      await server.close()
      await proxy.close()
      await redis.stop()
    },
  }
}

/** A prefix no other test file uses, so files can share the machine's Redis. */
export function uniquePrefix(name: string): string {
  return `t:${name}:${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}:`
}

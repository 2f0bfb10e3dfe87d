import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net'
import { freePort } from './ports.js'
import { setTimeout as sleep } from 'node:timers/promises'

const REDIS_BINARY = '/usr/bin/redis-server'
/** The machine's Redis, used when no private one can be started: REDIS_URL (e.g. a CI service), else 127.0.0.1:6379. */
function sharedAddress(): { host: string; port: number } {
  const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
  return { host: url.hostname, port: Number(url.port || 6379) }
}

export interface RedisHandle {
  url: string
  host: string
  port: number
  /** True when this process started the server (and `stop()` ends it). */
  private: boolean
  stop(): Promise<void>
}

function ping(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port })
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')))
  })
}


async function spawnPrivate(binary: string): Promise<RedisHandle | null> {
  const port = await freePort()
  const child: ChildProcess = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  })
  let exited = false
  child.once('exit', () => (exited = true))
  child.once('error', () => (exited = true))
  for (let i = 0; i < 100 && !exited; i++) {
    if (await ping(port)) {
      return {
        url: `redis://127.0.0.1:${port}`,
        host: '127.0.0.1',
        port,
        private: true,
        async stop() {
          if (exited) return
          const gone = new Promise((resolve) => child.once('exit', resolve))
          child.kill('SIGTERM')
          await gone
        },
      }
    }
    await sleep(50)
  }
  child.kill('SIGKILL')
  return null
}

/**
 * A Redis for a test file: a private `redis-server` on a free port when the binary exists, else the
 * machine's (REDIS_URL, else 127.0.0.1:6379). Returns `null` (after printing why) when neither is there, so the suite
 * can skip, except under CI=true, where a missing Redis throws: CI must never pass by skipping.
 */
export async function startRedis(options: { preferShared?: boolean } = {}): Promise<RedisHandle | null> {
  const binary = process.env.REDIS_SERVER_BIN ?? REDIS_BINARY
  const { host, port } = sharedAddress()
  const shared = async (): Promise<RedisHandle | null> =>
    (await ping(port, host)) ? { url: `redis://${host}:${port}`, host, port, private: false, stop: async () => {} } : null
  if (options.preferShared) {
    const handle = await shared()
    if (handle) return handle
  }
  if (existsSync(binary)) {
    const handle = await spawnPrivate(binary)
    if (handle) return handle
  }
  const handle = await shared()
  if (handle) return handle
  const reason =
    `no Redis: ${binary} did not start a server` +
    ` and nothing answers PING on ${host}:${port} (REDIS_URL). Install redis-server to run these tests.`
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`)
  console.warn(`[skip] ${reason}`)
  return null
}

export interface TcpProxy {
  port: number
  /** Refuses new connections and resets open ones, as if Redis went away. */
  cut(): void
  /** Stops forwarding without closing anything, as if Redis hung. */
  freeze(): void
  restore(): void
  close(): Promise<void>
}

/** A TCP proxy to `host:port`, so a test can take "Redis" away and bring it back, data intact, with any Redis. */
export async function tcpProxy(port: number, host = '127.0.0.1'): Promise<TcpProxy> {
  let mode: 'open' | 'cut' | 'frozen' = 'open'
  const sockets = new Set<Socket>()
  const frozen: Array<() => void> = []
  const server = createServer((client) => {
    if (mode === 'cut') return void client.destroy()
    const upstream = createConnection({ host, port })
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.once('close', () => sockets.delete(s))
      s.on('error', () => {
        client.destroy()
        upstream.destroy()
      })
    }
    const forward = (from: Socket, to: Socket): void => {
      from.on('data', (chunk) => {
        if (mode === 'frozen') frozen.push(() => to.write(chunk))
        else to.write(chunk)
      })
      from.once('close', () => to.destroy())
    }
    forward(client, upstream)
    forward(upstream, client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  return {
    port: (server.address() as AddressInfo).port,
    cut() {
      mode = 'cut'
      frozen.length = 0
      for (const s of sockets) s.destroy()
    },
    freeze() {
      mode = 'frozen'
    },
    restore() {
      mode = 'open'
      for (const write of frozen.splice(0)) write()
    },
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

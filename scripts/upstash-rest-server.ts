/**
 * A local Upstash-compatible REST server in front of a real redis-server: the protocol surface of
 * shared/reference/upstash-rest-protocol.md §7, enough for `@upstash/redis` with any options.
 * Test and development infrastructure only; never shipped.
 *
 *   npx tsx scripts/upstash-rest-server.ts [--port 8079] [--token T] [--redis redis://127.0.0.1:6379]
 *
 * Programmatic: `startUpstashServer({ token, redisUrl, port: 0 })` → { url, token, stats, faults, close() }.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { pathToFileURL } from 'node:url'
import Redis, { ReplyError as IoReplyError } from 'ioredis'

export interface UpstashServerOptions {
  /** Default `redis://127.0.0.1:6379`. */
  redisUrl?: string
  token: string
  /** 0 picks a free port. Default 0. */
  port?: number
  host?: '127.0.0.1'
}

/**
 * One injected fault, applied to a whole HTTP request before it reaches Redis.
 * `delayMs` holds the request first (then it runs normally unless `status`/`body` or `drop` is also set);
 * `status`/`body` answer without touching Redis; `drop` destroys the socket (a network error for the client).
 */
export interface Fault {
  delayMs?: number
  status?: number
  body?: string
  drop?: boolean
}

export interface UpstashServerStats {
  /** Requests per path (`/`, `/pipeline`, `/multi-exec`, anything else as sent), faulted ones included. */
  readonly requests: Readonly<Record<string, number>>
  /** Sum of `requests`. */
  readonly total: number
  /** Redis commands executed, by upper-case name. */
  readonly commands: Readonly<Record<string, number>>
  reset(): void
}

export interface UpstashServerFaults {
  /** Applies `fault` to each of the next `count` requests (queued after any pending faults). */
  inject(fault: Fault, count?: number): void
  clear(): void
  readonly pending: number
}

export interface UpstashServer {
  /** `http://127.0.0.1:<port>`: UPSTASH_REDIS_REST_URL. */
  readonly url: string
  readonly token: string
  readonly port: number
  readonly stats: UpstashServerStats
  readonly faults: UpstashServerFaults
  close(): Promise<void>
}

type Arg = string | number | boolean | null
type Reply = Buffer | number | null | bigint | Reply[]
type ResultItem = { result: unknown } | { error: string }

const MAX_BODY = 1024 * 1024
/** ioredis types its Redis error-reply class as `any`; this gives `instanceof` a type to narrow to. */
const ReplyError = IoReplyError as new (message: string) => Error

/** Commands that need a connection of their own (or block it): Upstash refuses them over plain REST, and on a shared connection they would break every other request. */
const REFUSED = new Set(
  (
    'MULTI EXEC DISCARD WATCH UNWATCH SELECT SUBSCRIBE PSUBSCRIBE SSUBSCRIBE UNSUBSCRIBE PUNSUBSCRIBE SUNSUBSCRIBE MONITOR SYNC PSYNC ' +
    'BLPOP BRPOP BRPOPLPUSH BLMOVE BLMPOP BZPOPMIN BZPOPMAX BZMPOP WAIT WAITAOF HELLO AUTH QUIT RESET SHUTDOWN CLIENT'
  ).split(' '),
)

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

function send(res: ServerResponse, status: number, body: unknown, syncToken?: number): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  const headers: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) }
  if (syncToken !== undefined) headers['upstash-sync-token'] = String(syncToken)
  res.writeHead(status, headers)
  res.end(text)
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    // Keep reading (and dropping) so the client sees the 400 rather than a reset socket.
    if (size <= MAX_BODY) chunks.push(chunk)
  }
  if (size > MAX_BODY) throw new HttpError(400, 'ERR max request size exceeded')
  return Buffer.concat(chunks).toString('utf8')
}

function toCommand(value: unknown): [string, ...string[]] {
  if (!Array.isArray(value) || value.length === 0) throw new HttpError(400, 'ERR failed to parse command')
  const args = value.map((arg: unknown) => {
    if (typeof arg === 'string') return arg
    // The SDK sends numbers and booleans as JSON primitives and `undefined` as null (§1).
    if (typeof arg === 'number' || typeof arg === 'boolean' || arg === null) return String(arg as Arg)
    throw new HttpError(400, 'ERR failed to parse command')
  })
  // Upper case: ioredis keys its reply transformers (HGETALL → object...) by the lower-case name.
  const name = args[0]!.toUpperCase()
  if (REFUSED.has(name)) throw new HttpError(400, `ERR Command is not available: '${args[0]}'`)
  return [name, ...args.slice(1)]
}

function toCommands(value: unknown): [string, ...string[]][] {
  if (!Array.isArray(value) || value.length === 0) throw new HttpError(400, 'ERR failed to parse pipeline request')
  return value.map(toCommand)
}

/** §2: with base64 every string at any depth is base64 of its bytes (a top-level "OK" stays as is, like Upstash); numbers and null as they are. */
function encode(value: Reply, base64: boolean, top: boolean): unknown {
  if (value === null || value === undefined) return null
  if (typeof value === 'number') return value
  if (typeof value === 'bigint') return Number(value)
  if (Array.isArray(value)) return value.map((item) => encode(item, base64, false))
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(String(value))
  if (!base64) return bytes.toString('utf8')
  if (top && bytes.length === 2 && bytes.toString('latin1') === 'OK') return 'OK'
  return bytes.toString('base64')
}

function item(err: Error | null, reply: unknown, base64: boolean): ResultItem {
  if (err) {
    if (!(err instanceof ReplyError)) throw err
    return { error: err.message }
  }
  return { result: encode(reply as Reply, base64, true) }
}

/** Starts the server; resolves once Redis answered and the port is bound. */
export async function startUpstashServer(options: UpstashServerOptions): Promise<UpstashServer> {
  const { token, port = 0, host = '127.0.0.1' } = options
  if (!token) throw new TypeError('startUpstashServer: "token" is required.')
  const redis = new Redis(options.redisUrl ?? 'redis://127.0.0.1:6379', {
    // ioredis 6 speaks RESP3 by default; Upstash answers in RESP2 shapes (§4 traps).
    protocol: 2,
    lazyConnect: true,
    // A down Redis must answer 500 now, not queue the request until it comes back.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: () => 200,
  })
  redis.on('error', () => {
    // Reported per request as a 500; an unhandled 'error' event would crash the process.
  })
  await redis.connect()

  let requests: Record<string, number> = {}
  let commands: Record<string, number> = {}
  const queue: Fault[] = []
  let syncToken = 0

  const count = (list: [string, ...string[]][]): void => {
    for (const [name] of list) commands[name] = (commands[name] ?? 0) + 1
  }

  async function execute(path: string, body: unknown, base64: boolean): Promise<unknown> {
    if (path === '/') {
      const [name, ...args] = toCommand(body)
      count([[name]])
      try {
        return { result: encode((await redis.callBuffer(name, ...args)) as Reply, base64, true) }
      } catch (err) {
        if (err instanceof ReplyError) throw new HttpError(400, err.message)
        throw err
      }
    }
    const list = toCommands(body)
    count(list)
    if (path === '/pipeline') {
      const pipeline = redis.pipeline()
      for (const [name, ...args] of list) pipeline.callBuffer(name, ...args)
      const replies = (await pipeline.exec()) ?? []
      return replies.map(([err, reply]) => item(err, reply, base64))
    }
    // /multi-exec: ioredis writes MULTI…EXEC in one go on the one connection, so it is atomic.
    const multi = redis.multi()
    for (const [name, ...args] of list) multi.callBuffer(name, ...args)
    try {
      const replies = await multi.exec()
      if (!replies) throw new HttpError(400, 'EXECABORT Transaction discarded')
      return replies.map(([err, reply]) => item(err, reply, base64))
    } catch (err) {
      // A queue-time error (EXECABORT) discards the whole transaction: non-2xx, as Upstash (§2).
      if (err instanceof ReplyError) throw new HttpError(400, err.message)
      throw err
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!.replace(/(.)\/$/, '$1')
    requests[path] = (requests[path] ?? 0) + 1
    const fault = queue.shift()
    if (fault?.delayMs) await sleep(fault.delayMs)
    if (fault?.drop) {
      req.socket.destroy()
      return
    }
    if (fault && (fault.status !== undefined || fault.body !== undefined)) {
      send(res, fault.status ?? 200, fault.body ?? { error: `injected fault ${fault.status}` })
      return
    }
    try {
      if (req.method !== 'POST') throw new HttpError(405, 'Method not allowed')
      if (path !== '/' && path !== '/pipeline' && path !== '/multi-exec') throw new HttpError(404, `Endpoint not found: ${path}`)
      if (req.headers.authorization !== `Bearer ${token}`) {
        // Drain the body so the 401 is read, not a reset connection.
        await readBody(req).catch(() => undefined)
        throw new HttpError(401, 'Unauthorized')
      }
      const text = await readBody(req)
      let body: unknown
      try {
        body = JSON.parse(text)
      } catch {
        throw new HttpError(400, 'ERR failed to parse request body as JSON')
      }
      const base64 = String(req.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64'
      const result = await execute(path, body, base64)
      send(res, 200, result, ++syncToken)
    } catch (err) {
      if (err instanceof HttpError) send(res, err.status, { error: err.message })
      // Anything but a Redis error reply is the connection: Redis is down or unreachable.
      else send(res, 500, { error: `Unable to connect to the Redis server: ${(err as Error).message}` })
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, { error: String(err) })
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  const bound = (server.address() as AddressInfo).port

  return {
    url: `http://${host}:${bound}`,
    token,
    port: bound,
    stats: {
      get requests() {
        return { ...requests }
      },
      get total() {
        return Object.values(requests).reduce((a, b) => a + b, 0)
      },
      get commands() {
        return { ...commands }
      },
      reset() {
        requests = {}
        commands = {}
      },
    },
    faults: {
      inject(fault, times = 1) {
        for (let i = 0; i < times; i++) queue.push({ ...fault })
      },
      clear() {
        queue.length = 0
      },
      get pending() {
        return queue.length
      },
    },
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      redis.disconnect()
    },
  }
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? undefined : process.argv[i + 1]
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const token = flag('token') ?? process.env.UPSTASH_REDIS_REST_TOKEN ?? 'edge-session-dev-token'
  const server = await startUpstashServer({
    token,
    port: Number(flag('port') ?? 8079),
    redisUrl: flag('redis') ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  })
  console.log(`Upstash-compatible REST server on ${server.url}\nUPSTASH_REDIS_REST_URL=${server.url}\nUPSTASH_REDIS_REST_TOKEN=${server.token}`)
  const stop = (): void => void server.close().then(() => process.exit(0))
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

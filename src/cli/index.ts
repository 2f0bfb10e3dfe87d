#!/usr/bin/env node
/**
 * `npx edge-session <command>`: the management commands Django's `manage.py` has for sessions, for Node.
 * Node-only (process, stdout): no edge entry point imports this directory.
 *
 * Exit codes: 0 done, 1 the command failed (a cookie that does not verify, a store that cannot be reached),
 * 2 a usage mistake (unknown command or option, missing argument). Errors go to stderr, results to stdout.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { base64url } from 'jose'
import { KEY_CYCLED } from '../core/engine.js'
import { resolveSettings, type SessionSettings } from '../core/settings.js'
import { cookieEngine } from '../engines/cookie.js'
import { DJANGO_SESSION_SALT, djangoCookieEngine, djangoSigning } from '../engines/django-cookie.js'
import { SessionError } from '../errors.js'
import { inflate } from '../lib/compress.js'
import { createSessionStore } from '../store.js'
import { hasUserIndex } from '../users/contract.js'

class UsageError extends Error {}
class Failure extends Error {}

interface Command {
  usage: string
  help: string
  run(args: string[], flags: Set<string>): Promise<void>
}

const print = (text: string): void => void process.stdout.write(`${text}\n`)
const warn = (text: string): void => void process.stderr.write(`${text}\n`)

function settingsFromEnv(): SessionSettings {
  try {
    return resolveSettings({ ...(process.env.SESSION_COOKIE_AGE ? { cookieAge: Number(process.env.SESSION_COOKIE_AGE) } : {}) })
  } catch (err) {
    throw new Failure(err instanceof SessionError ? err.message : String(err))
  }
}

type Format = 'django' | 'jwe' | 'jws'

/** Which engine wrote `cookie`, from its shape: Django's has colons, a JWE five dot-separated parts, a JWS three. */
function formatOf(cookie: string): Format {
  if (/^\.?[A-Za-z0-9_-]+:[0-9A-Za-z]+:[A-Za-z0-9_-]+$/.test(cookie)) return 'django'
  const parts = cookie.split('.').length
  if (parts === 5) return 'jwe'
  if (parts === 3) return 'jws'
  throw new Failure('This is not a session cookie edge-session or Django writes (a JWS, a JWE, or Django\'s "payload:timestamp:signature").')
}

/**
 * The issue and expiry times a signed cookie engine writes in front of its data (`<issued>-<expires>` then
 * `:` or `.`), read from a JWS payload. Only read to print them; the engine itself decides what loads.
 */
function jwsTimes(cookie: string): { issued: Date; expires: Date; compressed: boolean; body: Uint8Array } | null {
  const payload = base64url.decode(cookie.split('.')[1] ?? '')
  const head = /^(\d{1,10})-(\d{1,10})([:.])/.exec(new TextDecoder().decode(payload.subarray(0, 24)))
  if (!head) return null
  return { issued: new Date(Number(head[1]) * 1000), expires: new Date(Number(head[2]) * 1000), compressed: head[3] === '.', body: payload.subarray(head[0].length) }
}

/** When a session's own expiry (`_session_expiry`) ends it, counted from `from`; `null` for none or browser close. */
function ownExpiry(data: Record<string, unknown>, from: Date): Date | null {
  const expiry = data._session_expiry
  if (typeof expiry === 'number' && expiry !== 0) return new Date(from.getTime() + expiry * 1000)
  return typeof expiry === 'string' ? new Date(expiry) : null
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2)
}

const commands: Record<string, Command> = {
  secret: {
    usage: 'edge-session secret',
    help: 'Prints a new random secret for SESSION_SECRET: 32 bytes from the system CSPRNG, base64url (43 characters).',
    async run(args) {
      if (args.length > 0) throw new UsageError('secret takes no arguments.')
      print(base64url.encode(randomBytes(32)))
    },
  },

  decode: {
    usage: 'edge-session decode <cookie> [--no-verify]',
    help:
      "Prints a session cookie's data and expiry, as Django's get_decoded() does. The cookie is verified with\n" +
      'SESSION_SECRET (and SESSION_SECRET_FALLBACKS) and its age with SESSION_COOKIE_AGE (default 1209600), as the app\n' +
      'would: signed (JWS) and encrypted (JWE) cookies of cookieEngine(), and Django signed cookies (djangoCookieEngine).\n' +
      '--no-verify prints the payload of a signed cookie without checking it, with a warning (not for a JWE).',
    async run(args, flags) {
      if (args.length !== 1) throw new UsageError('decode needs exactly one cookie value (quote it in the shell).')
      const cookie = args[0]!.replace(/^sessionid=/, '')
      const format = formatOf(cookie)
      if (flags.has('--no-verify')) return decodeUnverified(cookie, format)
      const settings = settingsFromEnv()
      const engine = format === 'django' ? djangoCookieEngine() : cookieEngine({ encrypt: format === 'jwe' })
      const store = createSessionStore({ ...settings, engine })
      const data = await store.engine.load(cookie)
      if (data === null || data === KEY_CYCLED) throw new Failure('The cookie does not verify: another secret signed it, it was changed, or it has expired. Nothing is printed.')
      let expires: Date | null = null
      if (format === 'django') {
        const signedAt = djangoSigning({ secret: settings.secret }).peek(cookie)!.signedAt
        const byAge = new Date(signedAt.getTime() + settings.cookieAge * 1000)
        const own = ownExpiry(data, signedAt)
        expires = own && own < byAge ? own : byAge
      } else if (format === 'jws') {
        expires = jwsTimes(cookie)?.expires ?? null
      }
      print(json({ data, expires: expires?.toISOString() ?? null }))
      if (format === 'jwe') warn('The expiry of an encrypted cookie is inside it; the engine checked it, and it has not passed.')
    },
  },

  sessions: {
    usage: 'edge-session sessions <user id>',
    help:
      "Lists a user's live sessions on Upstash (UPSTASH_REDIS_REST_URL / _TOKEN): id, device label, created,\n" +
      'last seen, expires. The ids are not credentials; pass one to `end`.',
    async run(args) {
      if (args.length !== 1) throw new UsageError('sessions needs the user id.')
      const sessions = await upstashUsers().list(args[0]!)
      print(json(sessions.map((s) => ({ ...s, created: s.created.toISOString(), lastSeen: s.lastSeen.toISOString(), expires: s.expires.toISOString() }))))
    },
  },

  end: {
    usage: 'edge-session end <user id> <session id>... | end <user id> --all',
    help: "Ends sessions of a user on Upstash at once (ids from `sessions`), or every one with --all: their cookies stop loading.",
    async run(args, flags) {
      const [userId, ...ids] = args
      if (!userId) throw new UsageError('end needs the user id, then session ids or --all.')
      if (flags.has('--all') === ids.length > 0) throw new UsageError('end takes session ids or --all, not both and not neither.')
      await upstashUsers().end(userId, flags.has('--all') ? { allExcept: null } : { ids })
      print(flags.has('--all') ? `Ended every session of user ${userId}.` : `Ended ${ids.length} session(s) of user ${userId}.`)
    },
  },

  clearsessions: {
    usage: 'edge-session clearsessions',
    help:
      "Django's clearsessions: removes expired sessions from the configured engine (SESSION_ENGINE=cookie|upstash),\n" +
      'for engines that need a sweep. Neither built-in engine does (a cookie is in the browser; Redis expires keys itself):\n' +
      'it says so and exits 0, so a cron job written for another engine keeps working.',
    async run(args) {
      if (args.length > 0) throw new UsageError('clearsessions takes no arguments.')
      const choice = process.env.SESSION_ENGINE ?? 'cookie'
      if (choice !== 'cookie' && choice !== 'upstash') throw new UsageError(`SESSION_ENGINE must be "cookie" or "upstash", not "${choice}".`)
      const engine = choice === 'upstash' ? await upstashFactory() : cookieEngine()
      await createSessionStore({ ...settingsFromEnv(), engine }).clearExpired()
      print(choice === 'upstash' ? 'Nothing to sweep: Redis expires sessions itself.' : 'Nothing to sweep: signed-cookie sessions live in the browser.')
    },
  },
}

function decodeUnverified(cookie: string, format: Format): void {
  warn('WARNING: not verified. Anyone can write a cookie that decodes to this; do not trust what it says.')
  if (format === 'jwe') throw new Failure('An encrypted (JWE) cookie cannot be read without the secret: drop --no-verify.')
  if (format === 'django') {
    const peeked = djangoSigning({ secret: 'unused: peek() checks nothing', salt: DJANGO_SESSION_SALT }).peek(cookie)
    if (!peeked) throw new Failure('The cookie does not decode.')
    print(json({ data: peeked.value, signedAt: peeked.signedAt.toISOString() }))
    return
  }
  const times = jwsTimes(cookie)
  if (!times) throw new Failure('The cookie does not decode.')
  const body = times.compressed ? inflate(times.body, 64 * 1024) : times.body
  if (!body) throw new Failure('The cookie inflates past 64 KiB; it is not one the engine would load.')
  print(json({ data: JSON.parse(new TextDecoder().decode(body)) as unknown, expires: times.expires.toISOString() }))
}

/** Imported only by the commands that need it: @upstash/redis is an optional peer dependency. */
async function upstashFactory() {
  try {
    return (await import('../engines/upstash.js')).upstashEngine()
  } catch (err) {
    throw new Failure(`The Upstash engine cannot start: ${(err as Error).message}`)
  }
}

function upstashUsers() {
  return {
    async list(userId: string) {
      return (await index()).list(userId)
    },
    async end(userId: string, which: Parameters<Awaited<ReturnType<typeof index>>['end']>[1]) {
      return (await index()).end(userId, which)
    },
  }
  async function index() {
    const store = createSessionStore({ ...settingsFromEnv(), engine: await upstashFactory() })
    if (!hasUserIndex(store.engine)) throw new Failure('This engine keeps no per-user index.')
    return store.engine.users
  }
}

function usage(): string {
  const width = Math.max(...Object.values(commands).map((c) => c.usage.length))
  return [
    'Usage: edge-session <command> [arguments]   (edge-session <command> --help for more)',
    '',
    ...Object.values(commands).map((c) => `  ${c.usage.padEnd(width)}  ${c.help.split('\n')[0]!.split('. ')[0]}`),
  ].join('\n')
}

/** Runs one command line; returns the exit code. */
async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    print(usage())
    return name === undefined ? 2 : 0
  }
  const command = commands[name]
  if (!command) {
    warn(`Unknown command "${name}".\n\n${usage()}`)
    return 2
  }
  const flags = new Set(rest.filter((a) => a.startsWith('--')))
  const args = rest.filter((a) => !a.startsWith('--'))
  if (flags.has('--help') || flags.has('-h')) {
    print(`Usage: ${command.usage}\n\n${command.help}`)
    return 0
  }
  const known = name === 'decode' ? ['--no-verify'] : name === 'end' ? ['--all'] : []
  const unknown = [...flags].filter((f) => !known.includes(f))
  try {
    if (unknown.length > 0) throw new UsageError(`Unknown option ${unknown.join(', ')} for ${name}.`)
    await command.run(args, flags)
    return 0
  } catch (err) {
    if (err instanceof UsageError) {
      warn(`${err.message}\nUsage: ${command.usage}`)
      return 2
    }
    warn(`edge-session ${name}: ${err instanceof Failure || err instanceof SessionError ? err.message : String((err as Error)?.stack ?? err)}`)
    return 1
  }
}

process.exitCode = await main(process.argv.slice(2))

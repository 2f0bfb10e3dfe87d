import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sources(path)
    return /\.(ts|tsx|mts)$/.test(entry.name) ? [path] : []
  })
}

/** Source without comments, so prose such as "the process" or a `// next/...` note cannot trip a rule. */
function code(path: string): string {
  return readFileSync(path, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1')
}

const files = sources(join(root, 'src')).map((path) => ({ path: relative(root, path).split('\\').join('/'), code: code(path) }))

/** Lines of `files` matching `pattern`, as "path: line", for readable failures. */
function offenders(pattern: RegExp, allowed: (path: string) => boolean): string[] {
  return files
    .filter((f) => !allowed(f.path))
    .flatMap((f) => f.code.split('\n').filter((line) => pattern.test(line)).map((line) => `${f.path}: ${line.trim()}`))
}

/** The bare `process` global. A property named process is fine: `globalThis.process`, `(globalThis as …).process`, `{ process?: … }` in a type. */
const PROCESS = /(?<![.\w$])process\b(?!\s*\??\s*:)/

/** `from 'x'`, `import 'x'`, `import('x')`, `export … from 'x'`, `require('x')` of a module matching `module`. */
const importOf = (module: string) => new RegExp(`(?:\\bfrom\\s*|\\bimport\\s*\\(?\\s*|\\brequire\\s*\\(\\s*)['"]${module}['"]`)

describe('module boundaries in src/', () => {
  it('finds the sources (guards the scan itself)', () => {
    expect(files.map((f) => f.path)).toContain('src/core/session.ts')
    expect(importOf('next(?:/[^\'"]*)?').test(`import { cookies } from 'next/headers'`)).toBe(true)
    expect(importOf('next(?:/[^\'"]*)?').test(`import x from 'next-auth'`)).toBe(false)
    expect(PROCESS.test('const env = process.env.SESSION_SECRET')).toBe(true)
    expect(PROCESS.test('if (typeof process !== "undefined") {}')).toBe(true)
    expect(PROCESS.test('(globalThis as { process?: { env?: Env } }).process?.env')).toBe(false)
    expect(PROCESS.test('globalThis.process?.env')).toBe(false)
    expect(code(join(root, 'src/core/settings.ts'))).toContain('globalThis')
  })

  it('imports next only from src/next/', () => {
    expect(offenders(importOf(`next(?:/[^'"]*)?`), (path) => path.startsWith('src/next/'))).toEqual([])
  })

  it('imports @upstash/redis only from src/engines/upstash.ts', () => {
    expect(offenders(importOf(`@upstash/redis(?:/[^'"]*)?`), (path) => path === 'src/engines/upstash.ts')).toEqual([])
  })

  /** The CLI (src/cli/) is Node-only by design; nothing else may be. */
  const cli = (path: string): boolean => path.startsWith('src/cli/')

  it('uses no node: modules, Buffer or process anywhere but the CLI (env is read through globalThis)', () => {
    // src/lib/node-builtin.ts asks the runtime for a built-in at call time (process.getBuiltinModule, read through
    // globalThis) and imports nothing: the edge bundle test (test/edge-vm.test.ts) proves the bundle names no module.
    expect(offenders(/['"]node:/, (path) => cli(path) || path === 'src/lib/node-builtin.ts')).toEqual([])
    // src/lib/base64url.ts takes Buffer from nodeBuiltin('buffer') at call time, never the global: allowed like zlib.
    expect(offenders(/\bBuffer\b/, (path) => cli(path) || path === 'src/lib/base64url.ts')).toEqual([])
    expect(offenders(PROCESS, cli)).toEqual([])
  })

  it('imports the Node-only CLI from nowhere in the library', () => {
    expect(offenders(importOf(`(?:\\.\\.?/)+cli/[^'"]*`), cli)).toEqual([])
  })
})

describe('package.json exports', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, string | Record<string, string>> }
  const targets = Object.entries(pkg.exports).flatMap(([subpath, target]) =>
    typeof target === 'string' ? [[subpath, target] as const] : Object.values(target).map((t) => [subpath, t] as const),
  )

  it('maps the documented subpaths', () => {
    expect(Object.keys(pkg.exports)).toEqual(expect.arrayContaining(['.', './cookie', './memory', './upstash', './next', './errors', './testing']))
  })

  it.each(targets)('%s → %s exists', (_subpath, target) => {
    expect(existsSync(join(root, target))).toBe(true)
  })
})

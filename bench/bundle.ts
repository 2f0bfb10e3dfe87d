/**
 * Part 4: edge bundle weight. Bundles each gate in bench/bundle-gates with esbuild the way Next's edge
 * compiler resolves and minifies middleware (edge-light/worker/browser conditions, production, minified,
 * tree-shaken ESM) and reports the bytes over an empty middleware.
 */
import { build, type Metafile } from 'esbuild'
import { readdirSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { machine, recordTargets, root, table, version, writeSection } from './harness.js'

const GATES: [string, string][] = [
  ['empty.ts', 'empty middleware (baseline)'],
  ['edge-session.ts', '**edge-session** adapter gate (`sessionMiddleware` from edge-session/next, signed-cookie engine)'],
  ['edge-session-middleware.ts', '**edge-session** middleware-only entry (`sessionMiddleware` from edge-session/next/middleware, signed-cookie engine)'],
  ['edge-session-core.ts', '**edge-session** core only (store + signed-cookie engine, gate by hand)'],
  ['iron-session.ts', `iron-session ${version('iron-session')} (\`unsealData\` gate)`],
  ['next-auth.ts', `next-auth ${version('next-auth')} (\`next-auth/middleware\` withAuth)`],
  ['auth-core-jwt.ts', `Auth.js @auth/core ${version('@auth/core')} (\`getToken\` gate)`],
]

async function bundle(file: string): Promise<{ raw: number; gzip: number; packages: Map<string, number>; files: Map<string, number> }> {
  const result = await build({
    entryPoints: [`bench/bundle-gates/${file}`],
    absWorkingDir: root,
    bundle: true,
    write: false,
    metafile: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['edge-light', 'worker', 'browser', 'import', 'module', 'default'],
    mainFields: ['browser', 'module', 'main'],
    target: 'es2022',
    define: { 'process.env.NODE_ENV': '"production"' },
    // Next's own runtime is in every middleware bundle alike: leaving it out leaves only what the library adds.
    external: ['next', 'next/*'],
    logLevel: 'silent',
  })
  const code = result.outputFiles[0]!.contents
  const files = new Map(Object.values(result.metafile.outputs).flatMap((o) => Object.entries(o.inputs).map(([input, { bytesInOutput }]) => [input, bytesInOutput] as const)))
  return { raw: code.length, gzip: gzipSync(code, { level: 9 }).length, packages: byPackage(result.metafile), files }
}

/** Output bytes per package (or `edge-session` for src/), from esbuild's metafile. */
function byPackage(meta: Metafile): Map<string, number> {
  const out = new Map<string, number>()
  for (const output of Object.values(meta.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)
      const name = m ? m[1]! : input.startsWith('src/') ? 'edge-session' : 'gate'
      out.set(name, (out.get(name) ?? 0) + bytesInOutput)
    }
  }
  return out
}

async function main(): Promise<void> {
  const startMachine = machine()
  const files = new Set(readdirSync(`${root}/bench/bundle-gates`))
  const results = []
  for (const [file, label] of GATES) {
    if (!files.has(file)) throw new Error(`missing bench/bundle-gates/${file}`)
    results.push({ label, ...(await bundle(file)) })
  }
  const base = results[0]!
  const kb = (n: number) => (n / 1024).toFixed(1)
  const rows = results.map((r, i) => [
    r.label,
    i === 0 ? `${r.raw} B` : `${kb(r.raw - base.raw)} KiB`,
    i === 0 ? `${r.gzip} B` : `${kb(r.gzip - base.gzip)} KiB`,
    i === 0
      ? '–'
      : [...r.packages]
          .filter(([name]) => name !== 'gate')
          .sort((a, b) => b[1] - a[1])
          .map(([name, bytes]) => `${name} ${kb(bytes)}`)
          .join(', '),
  ])
  // Issue 11 item 5: the middleware gate adds ≤ 25 KiB minified, through the middleware-only entry.
  const entry = results[GATES.findIndex(([file]) => file === 'edge-session-middleware.ts')]!
  const added = entry.raw - base.raw
  const parts = [...entry.packages].filter(([name]) => name !== 'gate').sort((a, b) => b[1] - a[1]).map(([name, bytes]) => `${name} ${kb(bytes)}`).join(', ')
  const targets = recordTargets('bundle', [
    { issue: 'issue 11.5', target: 'middleware gate ≤ 25 KiB minified added (middleware-only entry)', measured: `${kb(added)} KiB (${parts})`, met: added <= 25 * 1024 },
  ])
  const out = [
    '## 4. Edge bundle weight',
    '',
    `Run ${new Date().toISOString()} — ${startMachine}.`,
    `Versions: esbuild ${version('esbuild')}, jose ${version('jose')}, fflate ${version('fflate')}, iron-session ${version('iron-session')}, next-auth ${version('next-auth')}, @auth/core ${version('@auth/core')}.`,
    '',
    "Method: each gate in bench/bundle-gates/ is bundled with esbuild as Next's edge compiler resolves middleware: `edge-light`/`worker`/`browser` export conditions, browser main fields, `process.env.NODE_ENV` = production, minified, tree-shaken ESM. `next` and `next/*` are left external because Next's own runtime is in every middleware bundle alike; the table gives bytes **over the empty middleware** (raw minified and gzip -9), and which packages they come from (raw minified KiB, from esbuild's metafile). Not a full `next build` per gate (about 20 s each here); the same bundler settings for every gate make the difference the library's. A `next build --webpack` cross-check of the edge-session gates is in the notes below.",
    '',
    table(['gate', 'added, minified', 'added, gzip', 'where the bytes come from (KiB)'], rows, ['l', 'r', 'r', 'l']),
    '',
    'Targets:',
    '',
    targets,
    '',
    `Where the middleware-only entry's ${kb(added)} KiB go, by module (minified bytes in the bundle):`,
    '',
    table(
      ['module', 'bytes'],
      [...entry.files].filter(([input]) => !input.startsWith('bench/')).sort((a, b) => b[1] - a[1]).map(([input, bytes]) => [input.replace(/^node_modules\//, ''), bytes]),
      ['l', 'r'],
    ),
  ].join('\n')
  console.log(out)
  writeSection('bundle', out)
}

await main()

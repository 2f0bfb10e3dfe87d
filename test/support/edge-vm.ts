import { EdgeVM } from '@edge-runtime/vm'
import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))

/**
 * Bundles `entry` the way an edge bundler would (browser platform, edge-light conditions, no Node
 * built-ins) into an IIFE that assigns the module's exports to `globalThis[globalName]`.
 */
export async function bundleForEdge(entry: string, globalName: string): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    absWorkingDir: root,
    bundle: true,
    write: false,
    format: 'iife',
    globalName,
    platform: 'browser',
    conditions: ['edge-light', 'worker', 'browser', 'import', 'default'],
    target: 'es2022',
    logLevel: 'silent',
  })
  return result.outputFiles[0]!.text
}

/**
 * A bare EdgeVM, with nothing from Node added: no Buffer, process or require. This, not vitest's
 * `edge-runtime` environment (which copies Node globals in), is what proves code edge-safe.
 */
export function bareEdgeVM(code: string): EdgeVM {
  const vm = new EdgeVM()
  vm.evaluate(code)
  return vm
}

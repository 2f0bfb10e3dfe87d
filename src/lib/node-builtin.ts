/**
 * A Node built-in module when the runtime is Node (≥ 20.16 has `process.getBuiltinModule`), else `null`.
 * Asked at call time, never imported, so bundles for the edge stay free of Node modules (the one place in the
 * library that names one: test/boundaries.test.ts allows this file, test/edge-vm.test.ts checks the bundle): a bare edge runtime
 * has no `process`, and Next's edge sandbox answers every process method with one that throws "not supported
 * in the Edge Runtime". Used where Node's own implementation of a standard algorithm is much faster
 * (src/lib/compress.ts, src/lib/hs256.ts, src/lib/base64url.ts); the result must be the same bytes either way.
 */
const cache = new Map<string, unknown>()

export function nodeBuiltin<T>(id: 'zlib' | 'crypto' | 'buffer'): T | null {
  if (cache.has(id)) return cache.get(id) as T | null
  let found: T | null = null
  try {
    // Through globalThis: `process` is not a global of the edge runtime.
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
    found = (proc?.getBuiltinModule?.('node:' + id) as T | undefined) ?? null
  } catch {
    found = null
  }
  cache.set(id, found)
  return found
}

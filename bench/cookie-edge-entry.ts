/**
 * Bundled with test/support/edge-vm.ts's bundleForEdge and evaluated in a bare EdgeVM: the timed loops run
 * inside the VM, so only the VM's own code paths (its WebCrypto, its TextEncoder, no Buffer) are measured.
 */
import { loop } from './loop.js'
import { edgeApi, edgeEngine, prepare as prepareLibs, webBase64url, webCryptoFloor } from './cookie-libs.js'

let ops = new Map<string, () => Promise<unknown>>()

export async function prepare(): Promise<{ ids: string[]; sizes: [string, number][] }> {
  const prepared = await prepareLibs({
    webcrypto: await webCryptoFloor(webBase64url),
    'engine-jws': edgeEngine(false),
    'engine-jwe': edgeEngine(true),
    'api-jws': edgeApi(false),
    'api-jwe': edgeApi(true),
  })
  ops = prepared.ops
  return { ids: [...ops.keys()], sizes: [...prepared.sizes] }
}

export function run(id: string, ms: number): Promise<number> {
  const op = ops.get(id)
  if (!op) throw new Error(`no scenario ${id}`)
  return loop(op)(ms)
}

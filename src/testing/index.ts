/**
 * edge-session/testing: the engine conformance suite (run it against a custom `SessionEngine` with your
 * test runner to check it keeps Django's store contract and session semantics), and the testing kit:
 * `mintSessionCookie` for tests that start signed in, `fakeBrowser` / `redirectTarget` for running server
 * actions, route handlers and the middleware without a Next server.
 *
 * @module
 */
export { runEngineConformance, conformanceTests } from './conformance.js'
export type {
  ConformanceOptions,
  ConformanceCapabilities,
  ConformanceTestId,
  ConformanceExpect,
  ConformanceAssertion,
  ConformanceIt,
} from './conformance.js'
export { mintSessionCookie } from './mint.js'
export type { MintOptions, MintedSession, PlaywrightCookie } from './mint.js'
export { fakeBrowser, redirectTarget } from './next-fakes.js'
export type { FakeBrowser, FakeCookieStore, RequestCookie, CookieSetArgs } from './next-fakes.js'
export { runRevocationConformance, revocationConformanceTests } from './conformance-revocation.js'
export type {
  RevocationConformanceOptions,
  RevocationConformanceCapabilities,
  RevocationConformanceTestId,
} from './conformance-revocation.js'

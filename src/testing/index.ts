/**
 * edge-session/testing: the engine conformance suite. Run it against a custom `SessionEngine`
 * with your test runner to check it keeps Django's store contract and session semantics.
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

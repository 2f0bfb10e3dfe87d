/** Host for a Chromium page and the bare EdgeVM: the bundle, an IIFE, sets `globalThis.RuntimeSuite.run`. */
export { run } from '../suite.js'

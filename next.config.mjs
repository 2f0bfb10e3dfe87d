import { PHASE_PRODUCTION_SERVER } from 'next/constants.js'

/** @type {(phase: string) => import('next').NextConfig} */
export default function config(phase) {
  // `next start` without a secret would serve 500s on every session read: refuse to start instead.
  // (`npm start` writes a development secret to .env.local first; see scripts/ensure-secret.mjs.)
  if (phase === PHASE_PRODUCTION_SERVER && !process.env.SESSION_SECRET) {
    throw new Error(
      'SESSION_SECRET is not set. Set it to at least 32 random bytes (openssl rand -base64 32) before `next start`. ' +
        'For a local demo, run `npm start`, which creates a development secret in .env.local.',
    )
  }
  return {
    // What create-next-app writes for Next 16: the demo runs as a new app would.
    cacheComponents: true,
    partialPrefetching: true,
    // Tests and benchmarks build side by side into their own directories.
    distDir: process.env.NEXT_DIST_DIR || '.next',
    typescript: {
      // The demo imports edge-session through package.json "exports" (dist/), like an app; see tsconfig.app.json.
      tsconfigPath: 'tsconfig.app.json',
      ignoreBuildErrors: process.env.EDGE_SESSION_SKIP_TYPECHECK === '1',
    },
  }
}

import { fileURLToPath } from 'node:url'

/** @type {import('next').NextConfig} */
export default {
  distDir: process.env.NEXT_DIST_DIR || '.next',
  // The copy runs in bench/.out/next-app: the repository root is three levels up (and bench/ has a lockfile of its own).
  outputFileTracingRoot: fileURLToPath(new URL('../../../', import.meta.url)),
  typescript: { ignoreBuildErrors: true },
  // bench/next.ts maps edge-session to the repository's src/, outside this app.
  experimental: { externalDir: true },
  webpack(config) {
    // edge-session's sources import './x.js' for './x.ts' (TypeScript's ESM rule).
    config.resolve.extensionAlias = { '.js': ['.ts', '.tsx', '.js'], '.mjs': ['.mts', '.mjs'] }
    return config
  },
}

const encoder = new TextEncoder()

export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text)
}

/**
 * A key for one purpose only, derived from the configured secret with HKDF-SHA256, so a
 * secret reused elsewhere (or by another engine) never signs the same thing twice.
 * Derived once per engine and reused: every `crypto.subtle` call is a hop to another thread.
 */
export async function deriveKey(
  secret: string,
  purpose: string,
  algorithm: HmacImportParams | AesKeyAlgorithm,
  usages: KeyUsage[],
): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey('raw', utf8(secret), 'HKDF', false, ['deriveKey'])
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: utf8('edge-session'), info: utf8(purpose) },
    base,
    algorithm,
    false,
    usages,
  )
}

/** Lowercase hex SHA-256: how session keys are stored at rest, so a dump of the store hands out no session. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', utf8(text)))
  let hex = ''
  for (const byte of digest) hex += byte.toString(16).padStart(2, '0')
  return hex
}

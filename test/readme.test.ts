import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, vi } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))

/** The first ```ts block after `heading` in README.md. */
async function readmeBlock(heading: string): Promise<string> {
  const readme = await readFile(join(root, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf(heading))
  const match = /```ts\n([\s\S]*?)```/.exec(section)
  if (!match) throw new Error(`no ts block after ${heading}`)
  return match[1]!
}

describe('README', () => {
  it('the framework-free quick start works when pasted', async () => {
    const code = (await readmeBlock('## Quick start (framework-free)')).replace(
      "from 'edge-session'",
      `from ${JSON.stringify(join(root, 'src/index.ts'))}`,
    )
    const dir = await mkdtemp(join(tmpdir(), 'edge-session-readme-'))
    const file = join(dir, 'example.ts')
    await writeFile(file, code)
    const log = vi.spyOn(console, 'log').mockImplementation(() => {})
    try {
      await import(/* @vite-ignore */ file)
      const printed = log.mock.calls.map((call) => call[0])
      expect(printed).toHaveLength(2)
      expect(printed[0]).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)
      expect(printed[1]).toBe('blue')
    } finally {
      log.mockRestore()
      await rm(dir, { recursive: true, force: true })
    }
  })
})

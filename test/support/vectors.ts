// Reads the test-vector files in test/fixtures/vectors/ (their sources: test/fixtures/vectors/README.md).
import { readFileSync } from 'node:fs'

export const VECTORS_DIR = new URL('../fixtures/vectors/', import.meta.url)

export function readVectorFile(name: string): string {
  return readFileSync(new URL(name, VECTORS_DIR), 'utf8')
}

/** `key = value` lines of a vector file (comments and headings skipped); the first definition of a key wins. */
export function vectorEntries(name: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const line of readVectorFile(name).split('\n')) {
    if (/^\s*(#|$)/.test(line)) continue
    const eq = line.indexOf(' = ')
    if (eq < 0) continue
    const key = line.slice(0, eq).trim()
    if (!out.has(key)) out.set(key, line.slice(eq + 3).trim())
  }
  return out
}

/** Hex with spaces and an optional trailing `(comment)` removed. */
export function hexOf(value: string | undefined): Uint8Array {
  if (value === undefined) throw new Error('vector missing')
  const clean = value.replace(/\(.*$/, '').replace(/->.*$/, '').replace(/\s+/g, '')
  if (!/^([0-9a-f]{2})*$/i.test(clean)) throw new Error(`not hex: ${value.slice(0, 40)}`)
  return Uint8Array.from(Buffer.from(clean, 'hex'))
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts))
}

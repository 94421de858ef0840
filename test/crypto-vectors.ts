// Reads the MTProto vector files in test/fixtures/vectors/ (their sources: test/fixtures/vectors/README.md).
// Their lines look like `name = HEX [words…]` or `name= HEX`; the same name may appear more than once.

import { readFileSync } from 'node:fs'

const VECTORS_DIR = new URL('./fixtures/vectors/', import.meta.url)

export function readVectorText(file: string): string {
  return readFileSync(new URL(file, VECTORS_DIR), 'utf8')
}

export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '')
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) throw new Error(`not hex: ${text.slice(0, 40)}`)
  return new Uint8Array(Buffer.from(clean, 'hex'))
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex')
}

/** Hex fields of a vector file: each `name = HEX…` line, keyed by the name's first word, in file order. */
export class VectorFile {
  private readonly fields = new Map<string, string[]>()

  constructor(readonly text: string) {
    for (const line of text.split('\n')) {
      if (line.trimStart().startsWith('#')) continue
      const m = /^\s*([^=]+?)\s*=\s*(.*)$/.exec(line)
      if (m === null) continue
      const name = m[1].split(/[\s(]/)[0]
      const tokens: string[] = []
      for (const token of m[2].split(/\s+/)) {
        if (!/^[0-9a-fA-F]+$/.test(token)) break
        tokens.push(token)
      }
      if (tokens.length === 0) continue
      const list = this.fields.get(name) ?? []
      list.push(tokens.join(''))
      this.fields.set(name, list)
    }
  }

  static read(file: string): VectorFile {
    return new VectorFile(readVectorText(file))
  }

  /** The `index`-th value named `name`, as bytes. */
  bytes(name: string, index = 0): Uint8Array {
    const value = this.fields.get(name)?.[index]
    if (value === undefined) throw new Error(`vector ${name}[${index}] not found`)
    return hex(value)
  }

  /** The `index`-th value named `name`, as a string of hex digits. */
  raw(name: string, index = 0): string {
    const value = this.fields.get(name)?.[index]
    if (value === undefined) throw new Error(`vector ${name}[${index}] not found`)
    return value
  }
}

/** The first capture group of `pattern` in `text` (for the prose-style lines). */
export function capture(text: string, pattern: RegExp): string {
  const m = pattern.exec(text)
  if (m === null || m[1] === undefined) throw new Error(`vector pattern ${pattern} not found`)
  return m[1]
}

/** Every PEM block of a given label in `text`. */
export function pemBlocks(text: string, label = 'RSA PUBLIC KEY'): string[] {
  const re = new RegExp(`-----BEGIN ${label}-----[\\s\\S]*?-----END ${label}-----`, 'g')
  return text.match(re) ?? []
}

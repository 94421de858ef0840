// gramfarm's version, from its package.json (two levels up both from src/foundation and from dist/foundation).
import { readFileSync } from 'node:fs'

let cached: string | undefined

export function packageVersion(): string {
  if (cached === undefined) {
    try {
      const url = new URL('../../package.json', import.meta.url)
      cached = String((JSON.parse(readFileSync(url, 'utf8')) as { version?: unknown }).version ?? 'unknown')
    } catch {
      cached = 'unknown'
    }
  }
  return cached
}

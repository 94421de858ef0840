/** Registry of the framing strategies, by name and by obfuscation tag. */
import { abridged } from './abridged.ts'
import { full } from './full.ts'
import { intermediate } from './intermediate.ts'
import { paddedIntermediate } from './padded-intermediate.ts'
import type { Framing, FramingName } from './framing.ts'

export const FRAMINGS: Readonly<Record<FramingName, Framing>> = {
  abridged,
  intermediate,
  padded: paddedIntermediate,
  full,
}

export function getFraming(name: FramingName): Framing {
  return FRAMINGS[name]
}

/** The framing announced by a decrypted obfuscated-init tag, or undefined for an unknown tag. */
export function framingByObfuscationTag(tag: number): Framing | undefined {
  for (const framing of Object.values(FRAMINGS)) {
    if (framing.obfuscationTag === tag) return framing
  }
  return undefined
}

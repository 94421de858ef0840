// Packing of IP literals to the 4/16 raw bytes Telethon's StringSession stores, and back to text.
import { isIPv4, isIPv6 } from 'node:net'

/** Raw bytes of an IPv4/IPv6 literal, or null when `host` is not one (a hostname). */
export function packIp(host: string): Uint8Array | null {
  if (isIPv4(host)) return Uint8Array.from(host.split('.').map(Number))
  if (isIPv6(host)) return packIPv6(host)
  return null
}

function packIPv6(host: string): Uint8Array {
  let text = host.replace(/%.*$/, '') // a zone id has no place in 16 bytes
  // A trailing dotted quad (::ffff:1.2.3.4) stands for the last two groups: rewrite it as hex first.
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)))
  const [head = '', rest] = text.split('::')
  const left = parse(head)
  const right = rest === undefined ? [] : parse(rest)
  const zeros = new Array<number>(8 - left.length - right.length).fill(0)
  const groups = [...left, ...zeros, ...right]
  const out = new Uint8Array(16)
  groups.forEach((g, i) => {
    out[i * 2] = (g >> 8) & 0xff
    out[i * 2 + 1] = g & 0xff
  })
  return out
}

/** Text form of 4 or 16 raw bytes; IPv6 compressed as RFC 5952 (and Python's ipaddress) does. */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.')
  if (bytes.length !== 16) throw new RangeError('an IP address is 4 or 16 bytes')
  const groups: number[] = []
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0))
  // The longest run of two or more zero groups (the first one on a tie) becomes '::'.
  let bestStart = -1
  let bestLen = 0
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen) {
      bestStart = i
      bestLen = j - i
    }
    i = j
  }
  const hex = groups.map((g) => g.toString(16))
  if (bestLen < 2) return hex.join(':')
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`
}

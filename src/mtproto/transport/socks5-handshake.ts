/**
 * SOCKS5 client handshake (RFC 1928, RFC 1929 username/password), sans-io: feed it the proxy's bytes, write what it
 * returns. After `done`, the socket is a tunnel to the target and `takeLeftover()` holds any tunneled bytes that came
 * with the CONNECT reply.
 */
import { isIPv4, isIPv6 } from 'node:net'
import { ByteQueue } from './byte-queue.ts'
import { ProxyError } from './errors.ts'

/** Protocol version byte. */
const SOCKS_VERSION = 0x05
/** Method: no authentication. */
const METHOD_NO_AUTH = 0x00
/** Method: username/password (RFC 1929). */
const METHOD_USER_PASS = 0x02
/** Method reply: none of the offered methods is acceptable. */
const METHOD_NONE_ACCEPTABLE = 0xff
/** Version byte of the RFC 1929 sub-negotiation. */
const USER_PASS_VERSION = 0x01
/** Command: CONNECT. */
const COMMAND_CONNECT = 0x01
/** Address types. */
const ATYP_IPV4 = 0x01
const ATYP_DOMAIN = 0x03
const ATYP_IPV6 = 0x04
/** Fields with a one-byte length. */
const MAX_FIELD_LENGTH = 255

export interface Socks5Credentials {
  username: string
  password: string
}

export interface Socks5Target {
  host: string
  port: number
}

type Phase = 'greeting' | 'auth' | 'connect' | 'done'

/** The 16 bytes of an IPv6 address given in text form (validated by the caller). */
export function ipv6ToBytes(text: string): Uint8Array {
  let address = text.replace(/^\[|\]$/g, '')
  const zone = address.indexOf('%')
  if (zone >= 0) address = address.slice(0, zone)
  const groups: number[] = []
  const parseGroups = (part: string): number[] => {
    if (part === '') return []
    const out: number[] = []
    for (const group of part.split(':')) {
      if (group.includes('.')) {
        // Embedded IPv4 (e.g. ::ffff:1.2.3.4) fills the last two groups.
        const [a, b, c, d] = group.split('.').map(Number)
        out.push((a << 8) | b, (c << 8) | d)
      } else {
        out.push(parseInt(group, 16))
      }
    }
    return out
  }
  const gap = address.indexOf('::')
  if (gap >= 0) {
    const head = parseGroups(address.slice(0, gap))
    const tail = parseGroups(address.slice(gap + 2))
    groups.push(...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail)
  } else {
    groups.push(...parseGroups(address))
  }
  const out = new Uint8Array(16)
  groups.forEach((group, i) => {
    out[i * 2] = group >>> 8
    out[i * 2 + 1] = group & 0xff
  })
  return out
}

function encodeAddress(host: string): Uint8Array {
  if (isIPv4(host)) return Uint8Array.from([ATYP_IPV4, ...host.split('.').map(Number)])
  const bare = host.replace(/^\[|\]$/g, '')
  if (isIPv6(bare)) return Uint8Array.from([ATYP_IPV6, ...ipv6ToBytes(bare)])
  const name = new TextEncoder().encode(host)
  if (name.length === 0 || name.length > MAX_FIELD_LENGTH) {
    throw new ProxyError('socks-bad-config', `domain name of ${name.length} bytes does not fit SOCKS5`)
  }
  return Uint8Array.from([ATYP_DOMAIN, name.length, ...name])
}

function lengthPrefixed(field: string, what: string): number[] {
  const bytes = new TextEncoder().encode(field)
  if (bytes.length > MAX_FIELD_LENGTH) throw new ProxyError('socks-bad-config', `${what} is longer than 255 bytes`)
  return [bytes.length, ...bytes]
}

export class Socks5Handshake {
  private phase: Phase = 'greeting'
  private readonly queue = new ByteQueue()
  private readonly connectRequest: Uint8Array

  constructor(
    target: Socks5Target,
    private readonly credentials?: Socks5Credentials,
  ) {
    if (!Number.isInteger(target.port) || target.port < 1 || target.port > 0xffff) {
      throw new ProxyError('socks-bad-config', `invalid target port ${target.port}`)
    }
    const address = encodeAddress(target.host)
    this.connectRequest = Uint8Array.from([
      SOCKS_VERSION,
      COMMAND_CONNECT,
      0x00, // reserved
      ...address,
      target.port >>> 8,
      target.port & 0xff,
    ])
    if (credentials !== undefined) {
      // Validate now so a bad config fails before any byte is sent.
      lengthPrefixed(credentials.username, 'username')
      lengthPrefixed(credentials.password, 'password')
    }
  }

  get done(): boolean {
    return this.phase === 'done'
  }

  /** The method-selection greeting, to send once TCP is connected. */
  start(): Uint8Array {
    return this.credentials === undefined
      ? Uint8Array.from([SOCKS_VERSION, 1, METHOD_NO_AUTH])
      : Uint8Array.from([SOCKS_VERSION, 2, METHOD_NO_AUTH, METHOD_USER_PASS])
  }

  /** Feeds proxy bytes; returns the bytes to send next, if any. Throws ProxyError. */
  push(chunk: Uint8Array): Uint8Array | undefined {
    this.queue.push(chunk)
    let reply: Uint8Array | undefined
    for (;;) {
      const step = this.step()
      if (step === undefined) return reply
      if (step.length > 0) reply = reply === undefined ? step : Buffer.concat([reply, step])
      if (this.phase === 'done') return reply
    }
  }

  /** Bytes received after the CONNECT reply: the first tunneled bytes. */
  takeLeftover(): Uint8Array {
    return this.queue.readAll()
  }

  /** Advances one phase if enough bytes are buffered; returns bytes to send (possibly empty) or undefined. */
  private step(): Uint8Array | undefined {
    const q = this.queue
    switch (this.phase) {
      case 'greeting': {
        if (q.length < 2) return undefined
        const [version, method] = q.read(2)
        if (version !== SOCKS_VERSION)
          throw new ProxyError('socks-protocol', `not a SOCKS5 server (version ${version})`)
        if (method === METHOD_NONE_ACCEPTABLE) {
          throw new ProxyError(
            'socks-no-acceptable-method',
            this.credentials === undefined ? 'the proxy requires authentication' : 'the proxy refused our methods',
          )
        }
        if (method === METHOD_NO_AUTH) {
          this.phase = 'connect'
          return this.connectRequest
        }
        if (method === METHOD_USER_PASS && this.credentials !== undefined) {
          this.phase = 'auth'
          return Uint8Array.from([
            USER_PASS_VERSION,
            ...lengthPrefixed(this.credentials.username, 'username'),
            ...lengthPrefixed(this.credentials.password, 'password'),
          ])
        }
        throw new ProxyError('socks-protocol', `the proxy chose method ${method}, which we did not offer`)
      }
      case 'auth': {
        if (q.length < 2) return undefined
        const status = q.read(2)[1]
        if (status !== 0) throw new ProxyError('socks-auth-rejected', `username/password rejected (status ${status})`)
        this.phase = 'connect'
        return this.connectRequest
      }
      case 'connect': {
        if (q.length < 2) return undefined
        if (q.byteAt(0) !== SOCKS_VERSION) throw new ProxyError('socks-protocol', 'bad version in CONNECT reply')
        const rep = q.byteAt(1)
        // Check the reply code first: a failing proxy may close before sending the bound address.
        if (rep !== 0) {
          throw new ProxyError('socks-connect-failed', ProxyError.socksReplyMessage(rep), rep)
        }
        if (q.length < 5) return undefined
        const atyp = q.byteAt(3)
        let addressLength: number
        if (atyp === ATYP_IPV4) addressLength = 4
        else if (atyp === ATYP_IPV6) addressLength = 16
        else if (atyp === ATYP_DOMAIN) addressLength = 1 + q.byteAt(4)
        else throw new ProxyError('socks-protocol', `unknown address type ${atyp} in CONNECT reply`)
        const total = 4 + addressLength + 2
        if (q.length < total) return undefined
        q.skip(total)
        this.phase = 'done'
        return new Uint8Array(0)
      }
      case 'done':
        return undefined
    }
  }
}

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { ClientTransportCodec } from '../src/mtproto/transport/client-transport-codec.ts'
import { ProxyError, TransportProtocolError } from '../src/mtproto/transport/errors.ts'
import type { ServerFrame } from '../src/mtproto/transport/framing.ts'
import { INTERMEDIATE_TAG } from '../src/mtproto/transport/intermediate.ts'
import { parseMtproxySecret } from '../src/mtproto/transport/mtproxy-secret.ts'
import {
  acceptClientObfuscation,
  clientObfuscationFromInit,
  createClientObfuscation,
  deriveObfuscationKeys,
  generateObfuscatedInit,
  isAcceptableInit,
} from '../src/mtproto/transport/obfuscation.ts'
import { ServerTransportCodec } from '../src/mtproto/transport/server-transport-codec.ts'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const allFf = (n: number): Uint8Array => new Uint8Array(n).fill(0xff)
const REQ_PQ_MULTI = hex('0000000000000000 64F70D00FCC0AB65 14000000 F18E7EBE 15A084B3B9CA2A17F03925F44B78FE68')

const vectorsText = readFileSync(new URL('./fixtures/vectors/obf.txt', import.meta.url), 'utf8')

describe('obfuscation vectors (test/fixtures/vectors/obf.txt)', () => {
  const lines = vectorsText.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'))

  it('every line of the file is understood', () => {
    const known = [
      /64 bytes of 0xff.*encrypted tail\) = [0-9a-f]{16}/,
      /^MTProxy, all-zero/,
      /64-byte sequence [0-9a-f]{128}/,
      /^\s*encrypt key/,
      /^\s*decrypt key/,
    ]
    for (const line of lines)
      assert.ok(
        known.some((re) => re.test(line)),
        `unparsed vector line: ${line}`,
      )
    assert.equal(lines.length, 5)
  })

  it('init 0xff·64, intermediate → tail', () => {
    const line = lines.find((l) => l.includes('64 bytes of 0xff'))
    const expected = /tag ([0-9a-f]{8})\).*= ([0-9a-f]{16})/.exec(line ?? '')
    assert.ok(expected)
    const tag = Buffer.from(expected[1], 'hex').readUInt32LE(0)
    assert.equal(tag, INTERMEDIATE_TAG)
    const { header } = createClientObfuscation({ tag, random: allFf })
    assert.equal(toHex(header.subarray(56)), expected[2])
    assert.equal(toHex(header.subarray(0, 56)), 'ff'.repeat(56))
    // The same through the codec: the first write starts with this header.
    const codec = new ClientTransportCodec({ framing: 'intermediate', obfuscated: true, random: allFf })
    assert.equal(toHex(codec.encode(REQ_PQ_MULTI).subarray(56, 64)), expected[2])
    // And the server side reads the tag back.
    assert.equal(acceptClientObfuscation(header).tag, INTERMEDIATE_TAG)
  })

  it('MTProxy, zero secret: dc → tail', () => {
    const line = lines.find((l) => l.startsWith('MTProxy')) ?? ''
    const cases = [...line.matchAll(/dc (-?\d+) -> (?:tail )?([0-9a-f]{16})/g)]
    assert.equal(cases.length, 3)
    const secret = new Uint8Array(16)
    for (const [, dc, tail] of cases) {
      const dcId = Number(dc)
      const { header } = createClientObfuscation({ tag: INTERMEDIATE_TAG, dcId, secret, random: allFf })
      assert.equal(toHex(header.subarray(56)), tail, `dc ${dcId}`)
      const codec = new ClientTransportCodec({
        framing: 'intermediate',
        mtproxy: { secret: parseMtproxySecret('00'.repeat(16)), dcId },
        random: allFf,
      })
      assert.equal(toHex(codec.encode(REQ_PQ_MULTI).subarray(56, 64)), tail)
      const accepted = acceptClientObfuscation(header, secret)
      assert.equal(accepted.tag, INTERMEDIATE_TAG)
      assert.equal(accepted.dcId, dcId)
    }
  })

  it('given init → encrypt and decrypt key/iv', () => {
    const init = hex(/64-byte sequence ([0-9a-f]{128})/.exec(vectorsText)?.[1] ?? '')
    const enc = /encrypt key ([0-9a-f]{64}) iv ([0-9a-f]{32})/.exec(vectorsText)
    const dec = /decrypt key ([0-9a-f]{64}) iv ([0-9a-f]{32})/.exec(vectorsText)
    assert.ok(init.length === 64 && enc && dec)
    const keys = deriveObfuscationKeys(init)
    assert.equal(toHex(keys.encryptKey), enc[1])
    assert.equal(toHex(keys.encryptIv), enc[2])
    assert.equal(toHex(keys.decryptKey), dec[1])
    assert.equal(toHex(keys.decryptIv), dec[2])
  })
})

describe('obfuscation init', () => {
  const le = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]
  const withStart = (first: number[], second: number[] = [1, 2, 3, 4]): Uint8Array => {
    const out = new Uint8Array(64).fill(0x11)
    out.set([...first, ...second])
    return out
  }
  const rejected: Array<[string, Uint8Array]> = [
    ['first byte 0xef', withStart([0xef, 1, 2, 3])],
    ['HEAD', withStart(le(0x44414548))],
    ['POST', withStart(le(0x54534f50))],
    ['GET ', withStart(le(0x20544547))],
    ['OPTI', withStart(le(0x4954504f))],
    ['TLS', withStart(le(0x02010316))],
    ['padded tag', withStart(le(0xdddddddd))],
    ['intermediate tag', withStart(le(0xeeeeeeee))],
    ['bytes 4..8 zero', withStart([1, 2, 3, 4], [0, 0, 0, 0])],
  ]

  it('every rejection rule of docs/protocol.md#transports', () => {
    for (const [why, bytes] of rejected) assert.equal(isAcceptableInit(bytes), false, why)
    assert.equal(isAcceptableInit(withStart([1, 2, 3, 4])), true)
  })

  it('rejected draws are redrawn; the tag and DC land at 56 and 60', () => {
    const draws = [...rejected.map(([, b]) => b), withStart([1, 2, 3, 4])]
    let calls = 0
    const init = generateObfuscatedInit({ tag: 0xdddddddd, dcId: -2, random: () => draws[calls++] })
    assert.equal(calls, draws.length)
    assert.equal(toHex(init.subarray(0, 8)), '0102030401020304')
    assert.equal(toHex(init.subarray(56, 62)), 'ddddddddfeff')
    assert.equal(toHex(init.subarray(62)), '1111')
  })

  it('random inits always pass the rules', () => {
    for (let i = 0; i < 2000; i++) assert.ok(isAcceptableInit(generateObfuscatedInit({ tag: INTERMEDIATE_TAG })))
  })

  it('the init generation gives up on a broken random source instead of looping', () => {
    assert.throws(() => generateObfuscatedInit({ tag: INTERMEDIATE_TAG, random: () => rejected[0][1] }), RangeError)
  })

  it('a custom init with an unknown tag is refused by the server', () => {
    const init = withStart([1, 2, 3, 4])
    init.set([0x12, 0x34, 0x56, 0x78], 56)
    const { header } = clientObfuscationFromInit(init)
    const codec = new ServerTransportCodec()
    codec.push(header)
    assert.throws(
      () => codec.next(),
      (e: unknown) => e instanceof TransportProtocolError && e.reason === 'unknown-tag',
    )
  })
})

describe('MTProxy secrets', () => {
  const key = '0123456789abcdef0123456789abcdef'

  it('plain 16-byte secrets, hex / base64 / base64url / bytes', () => {
    const fromHex = parseMtproxySecret(key)
    assert.equal(toHex(fromHex.key), key)
    assert.equal(fromHex.paddedOnly, false)
    assert.equal(toHex(parseMtproxySecret(Buffer.from(key, 'hex').toString('base64')).key), key)
    assert.equal(toHex(parseMtproxySecret(Buffer.from(key, 'hex').toString('base64url')).key), key)
    assert.equal(toHex(parseMtproxySecret(hex(key)).key), key)
  })

  it('dd secrets force padded intermediate', () => {
    const secret = parseMtproxySecret('dd' + key)
    assert.equal(secret.paddedOnly, true)
    assert.equal(toHex(secret.key), key)
    const codec = new ClientTransportCodec({ framing: 'abridged', mtproxy: { secret, dcId: 2 } })
    assert.equal(codec.framing.name, 'padded')
    assert.equal(codec.obfuscated, true)
  })

  it('ee (fake-TLS) secrets are refused with a clear typed error', () => {
    assert.throws(
      () => parseMtproxySecret('ee' + key + Buffer.from('example.com').toString('hex')),
      (e: unknown) =>
        e instanceof ProxyError && e.reason === 'mtproxy-fake-tls-unsupported' && /not supported/.test(e.message),
    )
  })

  it('other shapes are invalid', () => {
    for (const bad of ['abcd', key + '00', 'zz', '']) {
      assert.throws(
        () => parseMtproxySecret(bad),
        (e: unknown) => e instanceof ProxyError && e.reason === 'mtproxy-invalid-secret',
        bad,
      )
    }
  })

  it('server side: picks the matching secret, reads the DC, refuses wrong secrets and plain clients', () => {
    const secrets = [hex('11'.repeat(16)), hex(key)]
    const client = new ClientTransportCodec({
      framing: 'intermediate',
      mtproxy: { secret: parseMtproxySecret(key), dcId: -4 },
    })
    const server = new ServerTransportCodec({ mtproxySecrets: secrets })
    server.push(client.encode(REQ_PQ_MULTI))
    const frame = server.next() as ServerFrame
    assert.equal(Buffer.from(frame.payload).equals(REQ_PQ_MULTI), true)
    assert.deepEqual(server.detection, { framing: 'intermediate', obfuscated: true, dcId: -4, secretIndex: 1 })

    const stranger = new ClientTransportCodec({
      framing: 'intermediate',
      mtproxy: { secret: parseMtproxySecret('22'.repeat(16)), dcId: 2 },
    })
    const refusing = new ServerTransportCodec({ mtproxySecrets: secrets })
    refusing.push(stranger.encode(REQ_PQ_MULTI))
    assert.throws(
      () => refusing.next(),
      (e: unknown) => e instanceof TransportProtocolError && e.reason === 'unknown-tag',
    )

    const plain = new ServerTransportCodec({ mtproxySecrets: secrets })
    plain.push(new ClientTransportCodec({ framing: 'intermediate' }).encode(REQ_PQ_MULTI))
    assert.throws(
      () => plain.next(),
      (e: unknown) => e instanceof TransportProtocolError && e.reason === 'plain-not-allowed',
    )
  })

  it('MTProxy cannot carry full', () => {
    assert.throws(
      () => new ClientTransportCodec({ framing: 'full', mtproxy: { secret: parseMtproxySecret(key), dcId: 2 } }),
      (e: unknown) => e instanceof ProxyError && e.reason === 'mtproxy-bad-config',
    )
    assert.throws(() => new ClientTransportCodec({ framing: 'full', obfuscated: true }), RangeError)
  })
})

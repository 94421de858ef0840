import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { ClientTransportCodec } from '../src/mtproto/transport/client-transport-codec.ts'
import { crc32, crc32Table } from '../src/mtproto/transport/crc32.ts'
import { TransportError, TransportProtocolError } from '../src/mtproto/transport/errors.ts'
import type { ClientTransportEvent, FrameDecoder, FramingName, ServerFrame } from '../src/mtproto/transport/framing.ts'
import { FRAMINGS } from '../src/mtproto/transport/framings.ts'
import { ServerTransportCodec } from '../src/mtproto/transport/server-transport-codec.ts'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
/** Byte equality regardless of Buffer/Uint8Array (decrypted data comes back as Buffer views). */
function assertBytes(actual: Uint8Array, expected: Uint8Array, message?: string): void {
  assert.equal(actual.length, expected.length, message)
  assert.ok(Buffer.from(actual.buffer, actual.byteOffset, actual.length).equals(expected), message ?? 'bytes differ')
}
const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts))

/** docs/protocol.md#key-exchange: req_pq_multi, 40 bytes. */
const REQ_PQ_MULTI = hex('0000000000000000 64F70D00FCC0AB65 14000000 F18E7EBE 15A084B3B9CA2A17F03925F44B78FE68')
const ALL_FRAMINGS: FramingName[] = ['abridged', 'intermediate', 'padded', 'full']

function drain<E>(decoder: { next(): E | undefined }): E[] {
  const out: E[] = []
  for (let e = decoder.next(); e !== undefined; e = decoder.next()) out.push(e)
  return out
}

/** Splits `bytes` at random points (sizes 1..max). */
function randomChunks(bytes: Uint8Array, max: number): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let i = 0; i < bytes.length;) {
    const n = 1 + Math.floor(Math.random() * max)
    out.push(bytes.subarray(i, i + n))
    i += n
  }
  return out
}

/** Feeds chunks one by one, draining after each (what a socket loop does). */
function feed<E>(decoder: { push(c: Uint8Array): void; next(): E | undefined }, chunks: Uint8Array[]): E[] {
  const out: E[] = []
  for (const chunk of chunks) {
    decoder.push(chunk)
    out.push(...drain(decoder))
  }
  return out
}

const payloadOf = (n: number): Uint8Array => Uint8Array.from(randomBytes(n))
/** Sizes that cover abridged short/long lengths and a large packet. */
const SIZES = [4, 40, 124 * 4, 127 * 4, 128 * 4, 4096, 200_004]

describe('transport framing vectors (docs/protocol.md#transports)', () => {
  it('abridged: ef 0a + payload', () => {
    const out = FRAMINGS.abridged.createClientEncoder().encode(REQ_PQ_MULTI)
    assert.equal(toHex(out), 'ef0a' + toHex(REQ_PQ_MULTI))
  })

  it('intermediate: eeeeeeee 28000000 + payload', () => {
    const out = FRAMINGS.intermediate.createClientEncoder().encode(REQ_PQ_MULTI)
    assert.equal(toHex(out), 'eeeeeeee28000000' + toHex(REQ_PQ_MULTI))
  })

  it('full: 34000000 00000000 + payload + CRC 34e133f7', () => {
    const out = FRAMINGS.full.createClientEncoder().encode(REQ_PQ_MULTI)
    assert.equal(toHex(out), '3400000000000000' + toHex(REQ_PQ_MULTI) + '34e133f7')
    assert.equal(crc32(out.subarray(0, out.length - 4)), 0xf733e134)
    assert.equal(crc32Table(out.subarray(0, out.length - 4)), 0xf733e134)
  })

  it('the table CRC32 fallback agrees with zlib', () => {
    for (const n of [0, 1, 3, 64, 1000]) {
      const data = payloadOf(n)
      assert.equal(crc32Table(data), crc32(data))
      assert.equal(crc32Table(data.subarray(n >> 1), crc32Table(data.subarray(0, n >> 1))), crc32(data))
    }
  })

  it('padded intermediate: dddddddd, length covers 0–15 padding bytes', () => {
    for (let i = 0; i < 50; i++) {
      const out = FRAMINGS.padded.createClientEncoder().encode(REQ_PQ_MULTI)
      assert.equal(toHex(out.subarray(0, 4)), 'dddddddd')
      const length = Buffer.from(out).readUInt32LE(4)
      assert.ok(length >= 40 && length <= 55, `length ${length}`)
      assert.equal(out.length, 8 + length)
      assertBytes(out.subarray(8, 48), REQ_PQ_MULTI)
    }
  })

  it('-404 in intermediate is 04000000 6cfeffff and decodes to TransportError', () => {
    const wire = FRAMINGS.intermediate.createServerEncoder().encodeTransportError(-404)
    assert.equal(toHex(wire), '040000006cfeffff')
    const dec = FRAMINGS.intermediate.createClientDecoder()
    dec.push(wire)
    const [event] = drain(dec)
    assert.equal(event.type, 'transportError')
    assert.ok(event.type === 'transportError' && event.error instanceof TransportError)
    assert.equal(event.type === 'transportError' && event.error.code, -404)
  })

  it('the tag is sent only once, and not at all when the encoder is told so', () => {
    const enc = FRAMINGS.intermediate.createClientEncoder()
    enc.encode(REQ_PQ_MULTI)
    assert.equal(toHex(enc.encode(REQ_PQ_MULTI).subarray(0, 4)), '28000000')
    const quiet = FRAMINGS.abridged.createClientEncoder({ sendTag: false })
    assert.equal(toHex(quiet.encode(REQ_PQ_MULTI).subarray(0, 1)), '0a')
  })

  it('abridged long length: 0x7f + 3-byte word count', () => {
    const payload = payloadOf(127 * 4)
    const out = FRAMINGS.abridged.createServerEncoder().encode(payload)
    assert.equal(toHex(out.subarray(0, 4)), '7f7f0000')
  })

  it('full: seq counts per direction', () => {
    const enc = FRAMINGS.full.createClientEncoder()
    enc.encode(REQ_PQ_MULTI)
    const second = enc.encode(REQ_PQ_MULTI)
    assert.equal(Buffer.from(second).readUInt32LE(4), 1)
  })
})

describe('transport framing round trips', () => {
  for (const name of ALL_FRAMINGS) {
    for (const obfuscated of name === 'full' ? [false] : [false, true]) {
      it(`${name}${obfuscated ? ' obfuscated' : ''}: client→server and server→client with random chunking`, () => {
        const client = new ClientTransportCodec({ framing: name, obfuscated })
        const server = new ServerTransportCodec()
        const payloads = SIZES.map(payloadOf)

        // Client → server, once in 1-byte chunks, then in random chunks.
        const firstWire = client.encode(payloads[0], { quickAck: true })
        const firstFrames = feed<ServerFrame>(server, randomChunks(firstWire, 1))
        assert.equal(firstFrames.length, 1)
        assertBytes(firstFrames[0].payload.subarray(0, payloads[0].length), payloads[0])
        assert.equal(firstFrames[0].quickAck, true)
        assert.equal(server.detection?.framing, name)
        assert.equal(server.detection?.obfuscated, obfuscated)

        const rest = payloads.slice(1)
        const wire = concat(...rest.map((p) => client.encode(p)))
        const frames = feed<ServerFrame>(server, randomChunks(wire, 700))
        assert.equal(frames.length, rest.length)
        frames.forEach((f, i) => {
          // Padded intermediate hands up payload + padding; the MTProto layer trims by its own length.
          if (name === 'padded') assert.ok(f.payload.length - rest[i].length <= 15)
          else assert.equal(f.payload.length, rest[i].length)
          assertBytes(f.payload.subarray(0, rest[i].length), rest[i])
          assert.equal(f.quickAck, false)
        })

        // Server → client: frames, a quick ack and transport errors, interleaved.
        const out = concat(
          server.encode(payloads[1]),
          server.encodeQuickAck(0x1234567),
          server.encode(payloads[6]),
          server.encodeTransportError(-429),
          server.encode(payloads[2]),
        )
        const events = feed<ClientTransportEvent>(client, randomChunks(out, 1 + Math.floor(Math.random() * 64)))
        assert.deepEqual(
          events.map((e) => e.type),
          ['frame', 'quickAck', 'frame', 'transportError', 'frame'],
        )
        const frame = (e: ClientTransportEvent): Uint8Array => (e.type === 'frame' ? e.payload : new Uint8Array(0))
        assertBytes(frame(events[0]).subarray(0, payloads[1].length), payloads[1])
        assertBytes(frame(events[2]).subarray(0, payloads[6].length), payloads[6])
        assert.equal(events[1].type === 'quickAck' && events[1].token, (0x1234567 | 0x80000000) >>> 0)
        assert.equal(events[3].type === 'transportError' && events[3].error.code, -429)
      })
    }
  }

  it('every framing decodes 1-byte chunks of many frames', () => {
    for (const name of ALL_FRAMINGS) {
      const enc = FRAMINGS[name].createServerEncoder()
      const dec = FRAMINGS[name].createClientDecoder()
      const payloads = [4, 8, 508, 512].map(payloadOf)
      const wire = concat(...payloads.map((p) => enc.encode(p)))
      const events = feed(dec, randomChunks(wire, 1))
      assert.equal(events.length, payloads.length, name)
    }
  })

  it('a 1 MiB frame in 1-byte chunks reassembles in linear time', () => {
    const payload = payloadOf(1 << 20)
    const wire = FRAMINGS.intermediate.createServerEncoder().encode(payload)
    const dec = FRAMINGS.intermediate.createClientDecoder()
    const started = performance.now()
    const events = feed(dec, randomChunks(wire, 1))
    assert.ok(performance.now() - started < 5000)
    assert.equal(events.length, 1)
    assertBytes(events[0].type === 'frame' ? events[0].payload : new Uint8Array(0), payload)
  })
})

describe('quick acks', () => {
  it('abridged answer is byte-swapped; others little-endian', () => {
    assert.equal(toHex(FRAMINGS.abridged.createServerEncoder().encodeQuickAck(0x00123456)), '80123456')
    assert.equal(toHex(FRAMINGS.intermediate.createServerEncoder().encodeQuickAck(0x00123456)), '56341280')
    assert.equal(toHex(FRAMINGS.full.createServerEncoder().encodeQuickAck(0x80123456)), '56341280')
  })

  it('client requests set the top length bit', () => {
    assert.equal(
      toHex(
        FRAMINGS.abridged
          .createClientEncoder({ sendTag: false })
          .encode(REQ_PQ_MULTI, { quickAck: true })
          .subarray(0, 1),
      ),
      '8a',
    )
    assert.equal(
      toHex(
        FRAMINGS.intermediate
          .createClientEncoder({ sendTag: false })
          .encode(REQ_PQ_MULTI, { quickAck: true })
          .subarray(0, 4),
      ),
      '28000080',
    )
    const full = FRAMINGS.full.createClientEncoder().encode(REQ_PQ_MULTI, { quickAck: true })
    assert.equal(toHex(full.subarray(0, 4)), '34000080')
    const dec = FRAMINGS.full.createServerDecoder()
    dec.push(full)
    const [frame] = drain(dec)
    assert.equal(frame.quickAck, true)
    assertBytes(frame.payload, REQ_PQ_MULTI)
  })

  it('long abridged frame with quick ack (0xff first byte)', () => {
    const payload = payloadOf(1000)
    const wire = FRAMINGS.abridged.createClientEncoder({ sendTag: false }).encode(payload, { quickAck: true })
    assert.equal(wire[0], 0xff)
    const dec = FRAMINGS.abridged.createServerDecoder()
    const [frame] = feed(dec, randomChunks(wire, 3))
    assert.equal(frame.quickAck, true)
    assertBytes(frame.payload, payload)
  })
})

describe('transport errors', () => {
  for (const name of ALL_FRAMINGS) {
    it(`${name}: -404, -429, -444 become TransportError`, () => {
      const enc = FRAMINGS[name].createServerEncoder()
      const dec = FRAMINGS[name].createClientDecoder()
      for (const code of [-404, -429, -444]) {
        dec.push(enc.encodeTransportError(code))
        const [event] = drain(dec)
        assert.ok(event.type === 'transportError')
        assert.equal(event.error.code, code)
        assert.equal(event.error.isKnown, true)
      }
    })
  }

  it('padded: a padded error frame (4–19 bytes) is still an error', () => {
    const dec = FRAMINGS.padded.createClientDecoder()
    dec.push(hex('0c000000 6cfeffff 0102030405060708'))
    const [event] = drain(dec)
    assert.ok(event.type === 'transportError' && event.error.code === -404)
  })

  it('full: a bare -429 (seen in the wild, unframed and repeated) is an error, and the rest is ignored', () => {
    const dec = FRAMINGS.full.createClientDecoder()
    dec.push(hex('53feffff 53feffff 53feffff'))
    const events = drain(dec)
    assert.equal(events.length, 1)
    assert.ok(events[0].type === 'transportError' && events[0].error.code === -429)
    dec.push(hex('00000000'))
    assert.equal(dec.next(), undefined)
  })
})

describe('hostile streams', () => {
  const expectProtocolError = (fn: () => unknown, reason: TransportProtocolError['reason']): void => {
    assert.throws(fn, (e: unknown) => e instanceof TransportProtocolError && e.reason === reason)
  }
  const pushAndDrain =
    <E>(dec: FrameDecoder<E>, bytes: Uint8Array) =>
    (): E[] => {
      dec.push(bytes)
      return drain(dec)
    }

  it('oversized declared lengths fail on the header, before any buffering', () => {
    expectProtocolError(pushAndDrain(FRAMINGS.intermediate.createServerDecoder(), hex('ffffff7f')), 'frame-too-large')
    expectProtocolError(pushAndDrain(FRAMINGS.intermediate.createClientDecoder(), hex('ffffff7f')), 'frame-too-large')
    expectProtocolError(pushAndDrain(FRAMINGS.abridged.createServerDecoder(), hex('7fffffff')), 'frame-too-large')
    expectProtocolError(pushAndDrain(FRAMINGS.abridged.createClientDecoder(), hex('7fffffff')), 'frame-too-large')
    expectProtocolError(pushAndDrain(FRAMINGS.full.createServerDecoder(), hex('ffffff7f')), 'frame-too-large')
    expectProtocolError(pushAndDrain(FRAMINGS.full.createClientDecoder(), hex('ffffff7f')), 'frame-too-large')
    expectProtocolError(
      pushAndDrain(FRAMINGS.intermediate.createServerDecoder({ maxFrameLength: 1024 }), hex('01040000')),
      'frame-too-large',
    )
  })

  it('bad CRC and bad seq in full', () => {
    const good = FRAMINGS.full.createClientEncoder().encode(REQ_PQ_MULTI)
    const badCrc = Uint8Array.from(good)
    badCrc[badCrc.length - 1] ^= 1
    expectProtocolError(pushAndDrain(FRAMINGS.full.createServerDecoder(), badCrc), 'bad-crc')
    const badPayload = Uint8Array.from(good)
    badPayload[10] ^= 0x40
    expectProtocolError(pushAndDrain(FRAMINGS.full.createServerDecoder(), badPayload), 'bad-crc')
    // The same packet twice: the second has seq 0 where 1 is expected.
    const dec = FRAMINGS.full.createServerDecoder()
    expectProtocolError(pushAndDrain(dec, concat(good, good)), 'bad-seq')
    // Wrong seq from the server to the client.
    const srv = FRAMINGS.full.createServerEncoder()
    srv.encode(REQ_PQ_MULTI)
    expectProtocolError(pushAndDrain(FRAMINGS.full.createClientDecoder(), srv.encode(REQ_PQ_MULTI)), 'bad-seq')
  })

  it('full: length below 12 and empty frames', () => {
    expectProtocolError(pushAndDrain(FRAMINGS.full.createServerDecoder(), hex('08000000')), 'bad-length')
    expectProtocolError(pushAndDrain(FRAMINGS.full.createServerDecoder(), hex('0c000000')), 'empty-frame')
    expectProtocolError(pushAndDrain(FRAMINGS.intermediate.createServerDecoder(), hex('00000000')), 'empty-frame')
    expectProtocolError(pushAndDrain(FRAMINGS.abridged.createServerDecoder(), hex('00')), 'empty-frame')
  })

  it('frames before a fault are delivered; the decoder then stays failed', () => {
    const enc = FRAMINGS.full.createClientEncoder()
    const a = enc.encode(REQ_PQ_MULTI)
    const b = Uint8Array.from(enc.encode(REQ_PQ_MULTI))
    b[b.length - 1] ^= 0xff
    const dec = FRAMINGS.full.createServerDecoder()
    dec.push(concat(a, b))
    assert.ok(dec.next() !== undefined)
    assert.throws(() => dec.next(), TransportProtocolError)
    assert.throws(() => dec.next(), TransportProtocolError)
    assert.equal(dec.buffered, 0)
  })

  it('server detection: unknown starts and foreign protocols', () => {
    const detect =
      (bytes: Uint8Array, options = {}) =>
      () => {
        const codec = new ServerTransportCodec(options)
        codec.push(bytes)
        return codec.next()
      }
    expectProtocolError(detect(new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n')), 'unsupported-transport')
    expectProtocolError(detect(new TextEncoder().encode('POST /api HTTP/1.1\r\n')), 'unsupported-transport')
    expectProtocolError(detect(hex('1603010200')), 'unsupported-transport')
    // 64 random bytes are taken for an obfuscated init; the tag decrypts to garbage.
    const garbage = Uint8Array.from(Buffer.alloc(64, 0x41))
    expectProtocolError(detect(garbage), 'unknown-tag')
    expectProtocolError(detect(garbage, { allowObfuscated: false }), 'unknown-tag')
    expectProtocolError(detect(hex('eeeeeeee'), { allowPlain: false }), 'plain-not-allowed')
  })

  it('server detection needs only what it needs, and waits otherwise', () => {
    const codec = new ServerTransportCodec()
    codec.push(hex('ef'))
    assert.equal(codec.next(), undefined)
    assert.deepEqual(codec.detection, { framing: 'abridged', obfuscated: false })
    const partial = new ServerTransportCodec()
    partial.push(hex('4141414141'))
    assert.equal(partial.next(), undefined)
    assert.equal(partial.detection, undefined)
  })

  it('a full plain stream is detected by its zero seq', () => {
    const codec = new ServerTransportCodec()
    const wire = FRAMINGS.full.createClientEncoder().encode(REQ_PQ_MULTI)
    const frames = feed<ServerFrame>(codec, randomChunks(wire, 1))
    assert.equal(codec.detection?.framing, 'full')
    assertBytes(frames[0].payload, REQ_PQ_MULTI)
  })

  it('outgoing size errors are RangeErrors', () => {
    assert.throws(() => FRAMINGS.abridged.createClientEncoder().encode(new Uint8Array(5)), RangeError)
    assert.throws(() => FRAMINGS.intermediate.createClientEncoder().encode(new Uint8Array(0)), RangeError)
  })
})

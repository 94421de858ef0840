// Hostile input: whatever the bytes, decoding ends in a TlDecodeError that says what and where — never a
// crash, a hang, or an allocation sized by the attacker.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { gzipSync } from 'node:zlib'
import { tlCodec, TlDecodeError, API_LAYER, type TlValue } from '../src/mtproto/tl/index.ts'
import { MAX_DEPTH } from '../src/mtproto/tl/runtime/tl-reader.ts'
import { TlSampleFactory, loadSchema, prng } from './support/tl-samples.ts'

function decodeError(bytes: Uint8Array): TlDecodeError {
  try {
    tlCodec.decode(bytes)
  } catch (err) {
    if (err instanceof TlDecodeError) return err
    throw err
  }
  assert.fail('decoded without an error')
}

const le32 = (...ints: number[]): Uint8Array => {
  const b = new Uint8Array(ints.length * 4)
  ints.forEach((n, i) => new DataView(b.buffer).setUint32(i * 4, n >>> 0, true))
  return b
}

test('a truncated buffer', () => {
  const full = tlCodec.encode({ _: 'inputPeerUser', userId: 1n, accessHash: 2n })
  for (let n = 0; n < full.length; n++) {
    const e = decodeError(full.subarray(0, n))
    assert.equal(e.reason, 'truncated', `cut at ${n}`)
    assert.ok(e.offset <= n)
  }
})

test('a length prefix beyond the end', () => {
  // username#b4073647 flags:# editable… username:string, with a 4-byte length of 0xffffff
  const bytes = Uint8Array.from([...le32(0xb4073647, 0), 0xfe, 0xff, 0xff, 0xff, 1, 2, 3, 4])
  const e = decodeError(bytes)
  assert.equal(e.reason, 'bad-length')
  assert.equal(e.offset, 8)
  assert.match(e.message, /length 16777215 runs past the end/)
})

test('an unknown constructor, at the top and inside a typed field', () => {
  assert.equal(decodeError(le32(0xdeadbeef)).reason, 'unknown-constructor')
  // inputPeerUserFromMessage#a87b0a1c peer:InputPeer …, with a User constructor where an InputPeer belongs
  const e = decodeError(le32(0xa87b0a1c, 0xd3bc4b7a, 0, 0))
  assert.equal(e.reason, 'unknown-constructor')
  assert.equal(e.offset, 4)
  assert.match(e.message, /not a constructor of InputPeer/)
})

test('a vector count of 2^31 and of 2^31-1 allocates nothing', () => {
  // users.getUsers#0d91a548 id:Vector<InputUser>
  for (const count of [0x80000000, 0x7fffffff, 1000]) {
    const before = process.memoryUsage().arrayBuffers
    const e = decodeError(le32(0x0d91a548, 0x1cb5c415, count, 0x7da07ec9))
    assert.equal(e.reason, 'vector-too-long')
    assert.ok(process.memoryUsage().arrayBuffers - before < 1 << 20)
  }
})

test('deep nesting stops at MAX_DEPTH', () => {
  // jsonArray#f7444763 value:Vector<JSONValue>, nested 10,000 deep
  const depth = 10_000
  const parts: Uint8Array[] = []
  for (let i = 0; i < depth; i++) parts.push(le32(0xf7444763, 0x1cb5c415, 1))
  parts.push(le32(0x3f6d7b68)) // jsonNull
  const e = decodeError(Uint8Array.from(Buffer.concat(parts)))
  assert.equal(e.reason, 'too-deep')
  // and a legitimately nested value below the limit decodes
  let v: TlValue = { _: 'jsonNull' }
  for (let i = 0; i < MAX_DEPTH - 2; i++) v = { _: 'jsonArray', value: [v] }
  assert.deepStrictEqual(tlCodec.decode(tlCodec.encode(v)), v)
})

test('gzip_packed is unpacked transparently, and a bomb or garbage is refused', () => {
  const inner = tlCodec.encode({ _: 'inputPeerUser', userId: 5n, accessHash: 6n })
  const gzipPacked = (data: Uint8Array): Uint8Array => {
    const w = tlCodec.newWriter()
    w.uint(0x3072cfa1) // gzip_packed
    w.bytes(data)
    return w.take()
  }
  const packed = gzipPacked(gzipSync(inner))
  assert.deepStrictEqual(tlCodec.decode(packed), { _: 'inputPeerUser', userId: 5n, accessHash: 6n })
  const bomb = gzipPacked(gzipSync(new Uint8Array(100 * 1024 * 1024)))
  assert.equal(decodeError(bomb).reason, 'bad-gzip')
  const garbage = gzipPacked(Uint8Array.from([1, 2, 3, 4, 5]))
  assert.equal(decodeError(garbage).reason, 'bad-gzip')
})

test('a bad Bool and trailing bytes', () => {
  // inputPeerNotifySettings#cacb6ae2 flags:# show_previews:flags.0?Bool, with 12345 where the Bool is
  const e = decodeError(le32(0xcacb6ae2, 1, 12345))
  assert.equal(e.reason, 'bad-bool')
  const ok = tlCodec.encode({ _: 'inputPeerSelf' })
  assert.equal(decodeError(Uint8Array.from([...ok, 0, 0, 0, 0])).reason, 'trailing-bytes')
})

test('fuzz: 100,000 random and mutated buffers; nothing but TlDecodeError escapes', () => {
  const rand = prng(20261124)
  const factory = new TlSampleFactory(loadSchema(`api-${API_LAYER}.tl`), 3, 2)
  const seeds = factory
    .entries()
    .filter((_, i) => i % 4 === 0)
    .map((e) => tlCodec.encode(factory.sample(e, rand() < 0.5 ? 'all' : 'none')))
  const ids = [...tlCodec.decoders.keys()]
  const started = Date.now()
  let decoded = 0
  for (let i = 0; i < 100_000; i++) {
    let buf: Uint8Array
    const kind = i % 5
    if (kind === 0) {
      // random bytes after a real constructor id
      buf = new Uint8Array(4 + ((rand() * 64) | 0))
      for (let j = 4; j < buf.length; j++) buf[j] = (rand() * 256) | 0
      new DataView(buf.buffer).setUint32(0, ids[(rand() * ids.length) | 0]!, true)
    } else {
      buf = Uint8Array.from(seeds[(rand() * seeds.length) | 0]!)
      const dv = new DataView(buf.buffer)
      const flips = 1 + ((rand() * 4) | 0)
      for (let f = 0; f < flips && buf.length > 4; f++) {
        const at = 4 + ((rand() * (buf.length - 4)) | 0)
        if (kind === 1) buf[at] = (rand() * 256) | 0
        else if (kind === 2 && at + 4 <= buf.length)
          dv.setUint32(at & ~3, [0x7fffffff, 0x80000000, 0xffffffff, 0x1cb5c415, 0x3072cfa1][(rand() * 5) | 0]!, true)
        else if (kind === 3) buf = buf.subarray(0, at)
        else if (at + 4 <= buf.length) buf.set([0xfe, 0xff, 0xff, 0x7f], at)
      }
    }
    try {
      tlCodec.decode(buf)
      decoded++
    } catch (err) {
      if (!(err instanceof TlDecodeError))
        throw new Error(`case ${i}: ${(err as Error).stack}\nbuffer ${Buffer.from(buf).toString('hex')}`)
    }
  }
  assert.ok(decoded > 100, `some mutations still decode (${decoded})`)
  assert.ok(Date.now() - started < 60_000)
})

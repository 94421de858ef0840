// The compact structures that keep an idle connection small: the replay window, the light event emitter and the
// auth key that keeps (or copies) its bytes.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { SeenMessageIds, MAX_SEEN_MESSAGE_IDS } from '../src/mtproto/session/seen-message-ids.ts'
import { LightEmitter } from '../src/mtproto/dc/light-emitter.ts'
import { AuthKey } from '../src/mtproto/crypto/auth-key.ts'
import { sha1 } from '../src/mtproto/crypto/hashes.ts'

const BASE = 1_700_000_000n << 32n
const id = (i: number): bigint => BASE + BigInt(i) * 4n + 1n

describe('replay window', () => {
  it('refuses repeats, accepts late ids inside the window, keeps order while growing', () => {
    const seen = new SeenMessageIds()
    for (let i = 0; i < 100; i += 2) assert.ok(seen.accept(id(i)))
    for (let i = 1; i < 100; i += 2) assert.ok(seen.accept(id(i)), 'an id between two seen ones is new')
    for (let i = 0; i < 100; i++) {
      assert.ok(seen.has(id(i)))
      assert.equal(seen.accept(id(i)), false)
    }
    assert.equal(seen.has(id(100)), false)
  })

  it('keeps the last MAX ids: older ones, and any at or below the lowest kept, are refused', () => {
    const seen = new SeenMessageIds()
    const total = MAX_SEEN_MESSAGE_IDS + 500
    for (let i = 1; i <= total; i++) assert.ok(seen.accept(id(i * 2)))
    const lowest = total - MAX_SEEN_MESSAGE_IDS + 1
    assert.equal(seen.has(id((lowest - 1) * 2)), false, 'forgotten')
    assert.ok(seen.has(id(lowest * 2)))
    assert.equal(seen.accept(id(lowest * 2 - 1)), false, 'below the window')
    assert.ok(seen.accept(id(lowest * 2 + 1)), 'inside the window, not seen')
    assert.equal(seen.has(id(lowest * 2)), false, 'the lowest one dropped to make room')
  })

  it('clear() forgets everything', () => {
    const seen = new SeenMessageIds()
    for (let i = 0; i < 20; i++) seen.accept(id(i))
    seen.clear()
    assert.equal(seen.has(id(3)), false)
    assert.ok(seen.accept(id(3)))
  })
})

describe('LightEmitter', () => {
  interface Events {
    tick: [n: number]
    done: []
  }

  it('calls listeners in order with the emitter as this; on/once/off like EventEmitter', () => {
    const e = new LightEmitter<Events>()
    const got: string[] = []
    assert.equal(e.emit('tick', 0), false)
    const a = (n: number): void => {
      got.push(`a${n}`)
    }
    const b = function (this: unknown, n: number): void {
      assert.equal(this, e)
      got.push(`b${n}`)
    }
    e.on('tick', a).once('tick', b)
    assert.equal(e.listenerCount('tick'), 2)
    assert.equal(e.emit('tick', 1), true)
    e.emit('tick', 2)
    assert.deepEqual(got, ['a1', 'b1', 'a2'])
    e.once('tick', b)
    e.off('tick', b) // a once listener is removed by the function given to once()
    e.off('tick', a)
    assert.equal(e.emit('tick', 3), false)
    assert.deepEqual(got, ['a1', 'b1', 'a2'])
  })

  it('listeners added or removed during an emit do not change that emit', () => {
    const e = new LightEmitter<Events>()
    const got: string[] = []
    const second = (): void => {
      got.push('second')
    }
    e.on('done', () => {
      got.push('first')
      e.off('done', second)
      e.on('done', () => got.push('late'))
    })
    e.on('done', second)
    e.emit('done')
    assert.deepEqual(got, ['first', 'second'])
    e.emit('done')
    assert.deepEqual(got, ['first', 'second', 'first', 'late'])
  })
})

describe('AuthKey', () => {
  it('keeps bytes that own their buffer, copies a view of a larger one; derives id and slices on demand', () => {
    const own = Uint8Array.from(randomBytes(256))
    const kept = new AuthKey(own)
    assert.equal(kept.key, own)
    const big = Uint8Array.from(randomBytes(300))
    const copied = new AuthKey(big.subarray(10, 266))
    assert.notEqual(copied.key.buffer, big.buffer)
    assert.deepEqual(copied.key, big.subarray(10, 266))

    const digest = sha1(own)
    assert.deepEqual(kept.id, Uint8Array.from(digest.subarray(12, 20)))
    assert.equal(kept.idLong, Buffer.from(digest.subarray(12, 20)).readBigInt64LE())
    assert.deepEqual(Uint8Array.from(kept.auxHash), Uint8Array.from(digest.subarray(0, 8)))
    assert.deepEqual(kept.direction('server').a, own.subarray(8, 44))
    assert.deepEqual(kept.client.msgKeyPrefix, own.subarray(88, 120))
  })
})

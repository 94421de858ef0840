// The code channel under a master key: parked codes, routed codes and 2FA passwords are sealed in Redis, bound to
// their phone (a code moved to another phone's key does not open), and a code parked before its request is still
// adopted and opened. Real Redis on 127.0.0.1:6379 under a prefix of this file.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { before, describe, it } from 'node:test'
import type { Redis } from 'ioredis'
import { Keyring, MasterKey, SealedValueError } from '../src/foundation/sealed-value.ts'
import { CodeInbox, CodeProviderClient } from '../src/queue/code-channel.ts'
import { CodeChannelNames } from '../src/queue/redis-keys.ts'
import { scratchScope } from './farm-e2e-harness.ts'

const { prefix, redis } = scratchScope('secrets-codes')
const names = new CodeChannelNames(prefix)
describe('code channel with a master key', () => {
  const key = new MasterKey(randomBytes(32))
  const ring = new Keyring({ current: key })

  it('a code parked before its request is sealed, adopted by the request, and opened by the inbox', async () => {
    const provider = new CodeProviderClient({ redis, prefix, sealer: ring })
    const inbox = new CodeInbox({ redis, prefix, sealer: ring })
    try {
      const phone = '15550001001'
      assert.equal((await provider.deliverCode({ phone, code: '24680' })).status, 'pending')
      const parked = await redis.get(names.pendingCode(phone))
      assert.ok(
        parked !== null && parked.startsWith(`gfs1.${key.id}.`) && !parked.includes('24680'),
        'parked code sealed',
      )
      await inbox.requestCode({ phone, attempt: '1', codeType: 'sms', jobId: 'job1' })
      assert.equal(await inbox.takeCode({ phone, attempt: '1' }), '24680')
      // routed to the current attempt, sealed too; waitForCode opens it
      await provider.deliverCode({ phone, code: '13579' })
      assert.ok(!(await redis.get(names.code(phone, '1')))!.includes('13579'))
      assert.equal(await inbox.waitForCode({ phone, attempt: '1', timeoutMs: 5000 }), '13579')
    } finally {
      await inbox.close()
    }
  })

  it('a password is sealed; a code moved under another phone does not open', async () => {
    const provider = new CodeProviderClient({ redis, prefix, sealer: ring })
    const inbox = new CodeInbox({ redis, prefix, sealer: ring })
    try {
      await provider.deliverPassword({ phone: '15550001002', password: 'my 2fa pass' })
      const raw = await redis.get(names.password('15550001002'))
      assert.ok(raw !== null && !raw.includes('my 2fa pass'))
      assert.equal(await inbox.takePassword({ phone: '15550001002' }), 'my 2fa pass')

      await inbox.requestCode({ phone: '15550001003', attempt: '1', codeType: 'sms', jobId: 'job3' })
      await provider.deliverCode({ phone: '15550001003', code: '11111' })
      await inbox.requestCode({ phone: '15550001004', attempt: '1', codeType: 'sms', jobId: 'job4' })
      await redis.set(names.code('15550001004', '1'), (await redis.get(names.code('15550001003', '1')))!)
      await assert.rejects(
        inbox.takeCode({ phone: '15550001004', attempt: '1' }),
        (err: unknown) => err instanceof SealedValueError && err.reason === 'does-not-open',
      )
      await redis.set(names.code('15550001004', '1'), (await redis.get(names.code('15550001003', '1')))!)
      await assert.rejects(inbox.waitForCode({ phone: '15550001004', attempt: '1', timeoutMs: 5000 }), SealedValueError)
    } finally {
      await inbox.close()
    }
  })

  it('a provider without the key still delivers in clear (the contract), which a keyed inbox reads', async () => {
    const inbox = new CodeInbox({ redis, prefix, sealer: ring })
    try {
      await inbox.requestCode({ phone: '15550001005', attempt: '1', codeType: 'sms', jobId: 'job5' })
      await new CodeProviderClient({ redis, prefix }).deliverCode({ phone: '15550001005', code: '55555' })
      assert.equal(await inbox.takeCode({ phone: '15550001005', attempt: '1' }), '55555')
    } finally {
      await inbox.close()
    }
  })
})

// The call policy of MtprotoClient against the test DC: short FLOOD_WAITs slept, long ones thrown typed,
// 500s retried with backoff, *_MIGRATE_X parsed, auth keys kept in the key store.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestDc } from '../src/testdc/test-dc.ts'
import { RpcFailure } from '../src/testdc/rpc-failure.ts'
import { MtprotoClient, type AuthKeyStore } from '../src/mtproto/client/mtproto-client.ts'
import { RpcError } from '../src/mtproto/rpc-error.ts'

const APP = {
  apiId: 1,
  deviceModel: 'test',
  systemVersion: 'node',
  appVersion: '1',
  systemLangCode: 'en',
  langPack: '',
  langCode: 'en',
}

class MemoryKeys implements AuthKeyStore {
  readonly keys = new Map<number, { authKey: Uint8Array; serverSalt?: bigint }>()
  get(dc: number) {
    return this.keys.get(dc)
  }
  set(dc: number, authKey: Uint8Array, serverSalt: bigint) {
    this.keys.set(dc, { authKey, serverSalt })
  }
  delete(dc: number) {
    this.keys.delete(dc)
  }
}

test('RpcError parses seconds and DC ids', () => {
  const flood = new RpcError(420, 'FLOOD_WAIT_30', 'auth.sendCode')
  assert.equal(flood.seconds, 30)
  assert.equal(flood.kind, 'FLOOD_WAIT')
  assert.ok(flood.isFloodWait)
  const migrate = new RpcError(303, 'PHONE_MIGRATE_4')
  assert.equal(migrate.dcId, 4)
  assert.ok(migrate.isMigrate)
  assert.ok(migrate.is('PHONE_MIGRATE'))
  assert.equal(new RpcError(400, 'PHONE_CODE_INVALID').seconds, undefined)
})

test('MtprotoClient: FLOOD_WAIT under the threshold is slept, above it thrown; 500 is retried; keys are stored', async () => {
  let calls = 0
  const dc = await startTestDc({
    dcIds: [1, 2],
    services: () => ({
      'help.getNearestDc': () => {
        calls++
        if (calls === 1) throw new RpcFailure(420, 'FLOOD_WAIT_3')
        if (calls === 2) throw new RpcFailure(500, 'INTERNAL')
        if (calls === 3) throw new RpcFailure(420, 'FLOOD_WAIT_60')
        return { _: 'nearestDc', country: 'XX', thisDc: 2, nearestDc: 2 }
      },
    }),
  })
  const slept: number[] = []
  const keys = new MemoryKeys()
  const client = new MtprotoClient({
    app: APP,
    testMode: true,
    dcs: dc.dcs,
    rsaKeys: [dc.publicKey],
    keys,
    sleepThreshold: 10,
    sleep: async (ms) => {
      slept.push(ms)
    },
  })
  try {
    await assert.rejects(
      client.invoke({ _: 'help.getNearestDc' }),
      (e: unknown) => e instanceof RpcError && e.seconds === 60 && e.code === 420,
    )
    assert.deepEqual(slept, [3000, 200], 'slept the FLOOD_WAIT_3, then one backoff for the 500')
    assert.equal(calls, 3)
    const nearest = await client.invoke<{ _: string; thisDc: number }>({ _: 'help.getNearestDc' })
    assert.equal(nearest.thisDc, 2)
    assert.equal(keys.keys.get(2)?.authKey.length, 256, 'the new auth key was stored')
    const config = await client.getConfig()
    assert.equal(config.thisDc, 2)
  } finally {
    client.close()
    await dc.stop()
  }
})

test('MtprotoClient reuses a stored auth key instead of creating one', async () => {
  const dc = await startTestDc({ dcIds: [2] })
  const keys = new MemoryKeys()
  const first = new MtprotoClient({ app: APP, testMode: true, dcs: dc.dcs, rsaKeys: [dc.publicKey], keys })
  await first.invoke({ _: 'help.getConfig' })
  first.close()
  const second = new MtprotoClient({ app: APP, testMode: true, dcs: dc.dcs, rsaKeys: [dc.publicKey], keys })
  try {
    await second.invoke({ _: 'help.getConfig' })
    assert.equal(dc.dc(2).stats.keysCreated, 1)
  } finally {
    second.close()
    await dc.stop()
  }
})

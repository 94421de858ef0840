// Our tdata reader and writer against @mtcute/convert's (0.29.7), both directions, with and without a local passcode:
// the same user id, main DC and auth key come out of what the other side wrote.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Long } from '@mtcute/node'
import { Tdata, convertFromTdata } from '@mtcute/convert'
import { accountFileName, readTdata, writeTdata, TdataError } from '../src/auth/storage/tdata/index.ts'

async function scratch(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gramfarm-tdata-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

test('account 0 of a tdata folder is D877F783D5D3EF8C (first 8 bytes of MD5("data"), nibbles swapped)', () => {
  assert.equal(accountFileName(0), 'D877F783D5D3EF8C')
  assert.notEqual(accountFileName(1), accountFileName(0))
})

for (const passcode of ['', 'correct horse']) {
  const label = passcode ? 'with a passcode' : 'without a passcode'
  test(`tdata we write is read by @mtcute/convert (${label})`, async (t) => {
    const dir = join(await scratch(t), 'tdata')
    const key = new Uint8Array(randomBytes(256))
    const other = new Uint8Array(randomBytes(256))
    await writeTdata(
      dir,
      [
        {
          userId: 777000123n,
          mainDcId: 4,
          authKeys: new Map([
            [4, key],
            [2, other],
          ]),
        },
      ],
      { passcode },
    )
    const session = await convertFromTdata({ path: dir, passcode })
    assert.equal(session.primaryDcs?.main.id, 4)
    assert.deepEqual(new Uint8Array(session.authKey), key)
    assert.equal(session.self?.userId, 777000123)
    // their lower-level reader sees every key we wrote
    const td = await Tdata.open({ path: dir, passcode })
    const auth = await td.readMtpAuthorization(0)
    assert.deepEqual(
      auth.authKeys.map((k) => k.dcId),
      [4, 2],
    )
    const mode = (await stat(join(dir, 'key_datas'))).mode & 0o777
    assert.equal(mode, 0o600)
    assert.equal((await stat(dir)).mode & 0o777, 0o700)
  })

  test(`tdata @mtcute/convert writes is read by ours (${label})`, async (t) => {
    const dir = join(await scratch(t), 'tdata')
    const keys = [new Uint8Array(randomBytes(256)), new Uint8Array(randomBytes(256))]
    const td = await Tdata.create({ path: dir, passcode, keyData: { count: 2, order: [0, 1], active: 0 } })
    await td.writeMtpAuthorization(
      {
        userId: Long.fromString('5000000001'),
        mainDcId: 2,
        authKeys: [{ dcId: 2, key: keys[0]! }],
        authKeysToDestroy: [],
      },
      0,
    )
    await td.writeEmptyMapFile(0)
    await td.writeMtpAuthorization(
      { userId: Long.fromNumber(42), mainDcId: 5, authKeys: [{ dcId: 5, key: keys[1]! }], authKeysToDestroy: [] },
      1,
    )
    const accounts = await readTdata(dir, { passcode })
    assert.equal(accounts.length, 2)
    assert.equal(accounts[0]!.userId, 5000000001n)
    assert.equal(accounts[0]!.mainDcId, 2)
    assert.deepEqual(accounts[0]!.authKeys.get(2), keys[0])
    assert.equal(accounts[1]!.userId, 42n)
    assert.equal(accounts[1]!.mainDcId, 5)
    assert.deepEqual(accounts[1]!.authKeys.get(5), keys[1])
  })
}

test('a wrong or missing passcode is a passcode error, not garbage keys', async (t) => {
  const dir = join(await scratch(t), 'tdata')
  await writeTdata(dir, [{ userId: 1n, mainDcId: 2, authKeys: new Map([[2, new Uint8Array(randomBytes(256))]]) }], {
    passcode: 'secret',
  })
  await assert.rejects(
    readTdata(dir, { passcode: 'wrong' }),
    (e: unknown) => e instanceof TdataError && e.reason === 'passcode',
  )
  await assert.rejects(readTdata(dir), (e: unknown) => e instanceof TdataError && e.reason === 'passcode')
  const accounts = await readTdata(dir, { passcode: 'secret' })
  assert.equal(accounts[0]!.userId, 1n)
})

test('a folder that is not tdata, or an altered file, is a clear format error', async (t) => {
  const dir = await scratch(t)
  await assert.rejects(readTdata(dir), (e: unknown) => e instanceof TdataError && e.reason === 'missing')
  const td = join(dir, 'tdata')
  await writeTdata(td, [{ userId: 1n, mainDcId: 2, authKeys: new Map([[2, new Uint8Array(randomBytes(256))]]) }])
  await writeFile(join(td, 'key_datas'), Buffer.from('TDF$garbage-garbage-garbage-garbage'))
  await assert.rejects(readTdata(td), (e: unknown) => e instanceof TdataError && e.reason === 'format')
  assert.ok((await readdir(td)).includes('D877F783D5D3EF8Cs'))
})

// The CLI's master key settings: GRAMFARM_MASTER_KEY / _FILE / _COMMAND or the config file's masterKeyFile /
// masterKeyCommand / requireEncryption, read once by loadFarmConfig and handed to the worker's threads; a bad key
// is a usage error (exit 2) that does not echo it; the onboarding says once that secrets are in clear without one.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { workerOptionsOf } from '../src/cli/cli-context.ts'
import { CliError } from '../src/cli/exit-codes.ts'
import { loadFarmConfig } from '../src/cli/farm-config.ts'
import { keyringFromSpec } from '../src/foundation/master-key-source.ts'
import { parseMasterKey } from '../src/foundation/sealed-value.ts'

const TESTDC = { GRAMFARM_API_ID: '2040', GRAMFARM_API_HASH: '0123456789abcdef0123456789abcdef' }

describe('master key in the farm config', () => {
  const hex = randomBytes(32).toString('hex')
  const id = parseMasterKey(hex, 't').id

  it('no key: a clear keyring; GRAMFARM_MASTER_KEY: that key, passed to the worker threads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gf-cfg-'))
    try {
      assert.equal(keyringFromSpec(loadFarmConfig({}, { ...TESTDC }, dir).keyring).encrypting, false)
      const config = loadFarmConfig({}, { ...TESTDC, GRAMFARM_MASTER_KEY: hex }, dir)
      assert.equal(keyringFromSpec(config.keyring).current!.id, id)
      assert.equal(keyringFromSpec(workerOptionsOf(config, undefined).keyring).current!.id, id)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('the config file names a key file or command; requireEncryption without a key and a bad key are usage errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gf-cfg-'))
    try {
      writeFileSync(join(dir, 'master.key'), hex, { mode: 0o600 })
      writeFileSync(join(dir, 'a.json'), JSON.stringify({ masterKeyFile: 'master.key' }))
      writeFileSync(
        join(dir, 'b.json'),
        JSON.stringify({ masterKeyCommand: `cat '${join(dir, 'master.key')}'`, requireEncryption: true }),
      )
      writeFileSync(join(dir, 'c.json'), JSON.stringify({ requireEncryption: true }))
      assert.equal(
        keyringFromSpec(loadFarmConfig({ configFile: 'a.json' }, { ...TESTDC }, dir).keyring).current!.id,
        id,
      )
      const b = keyringFromSpec(loadFarmConfig({ configFile: 'b.json' }, { ...TESTDC }, dir).keyring)
      assert.equal(b.current!.id, id)
      assert.equal(b.requireEncryption, true)
      assert.throws(() => loadFarmConfig({ configFile: 'c.json' }, { ...TESTDC }, dir), CliError)
      assert.throws(
        () => loadFarmConfig({}, { ...TESTDC, GRAMFARM_MASTER_KEY: 'not-a-key-secret-words' }, dir),
        (err: unknown) => {
          assert.ok(err instanceof CliError)
          assert.ok(!err.message.includes('secret-words'))
          return true
        },
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

// The worker's login clients take their deadlines (connect, key-exchange answer, call) from the settings like
// every other worker setting — config file (seconds) < environment (seconds) < flags — and pass them to the
// farm worker; unset, the worker keeps its defaults. (test/farm-e2e-blackhole.test.ts shows what they are for.)
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { workerOptionsOf } from '../src/cli/cli-context.ts'
import { CliError } from '../src/cli/exit-codes.ts'
import { loadFarmConfig } from '../src/cli/farm-config.ts'
import { scratchScope } from './farm-e2e-harness.ts'

const { dir } = scratchScope('cli-deadlines')
const ENDPOINT = { dcs: [{ id: 2, host: '127.0.0.1', port: 1 }], publicKeyPem: '' }

describe('client deadlines in the worker settings', () => {
  it('reads connectTimeoutSec, handshakeTimeoutSec and requestTimeoutSec from the config file into the worker options', () => {
    const file = join(dir, 'gramfarm.json')
    writeFileSync(file, JSON.stringify({ connectTimeoutSec: 2, handshakeTimeoutSec: 3.5, requestTimeoutSec: 20 }))
    const config = loadFarmConfig({ configFile: file }, {}, dir)
    const opts = workerOptionsOf({ ...config, testDcEndpointFile: 'x' }, ENDPOINT)
    assert.equal(opts.connectTimeoutMs, 2_000)
    assert.equal(opts.handshakeTimeoutMs, 3_500)
    assert.equal(opts.requestTimeoutMs, 20_000)
  })

  it('lets the environment override the file, and flags (ms) the environment', () => {
    const file = join(dir, 'gramfarm.json')
    writeFileSync(file, JSON.stringify({ requestTimeoutSec: 20, connectTimeoutSec: 2 }))
    const env = { GRAMFARM_REQUEST_TIMEOUT: '45', GRAMFARM_HANDSHAKE_TIMEOUT: '4' }
    const config = loadFarmConfig({ configFile: file, handshakeTimeoutMs: 1_500 }, env, dir)
    assert.deepEqual(
      [config.connectTimeoutMs, config.handshakeTimeoutMs, config.requestTimeoutMs],
      [2_000, 1_500, 45_000],
    )
  })

  it('leaves the worker its defaults when nothing is set', () => {
    const config = loadFarmConfig({}, {}, dir)
    const opts = workerOptionsOf({ ...config, testDcEndpointFile: 'x' }, ENDPOINT)
    assert.equal('connectTimeoutMs' in opts || 'handshakeTimeoutMs' in opts || 'requestTimeoutMs' in opts, false)
  })

  it('refuses a deadline that is not a positive number of seconds (exit 2)', () => {
    const file = join(dir, 'bad.json')
    writeFileSync(file, JSON.stringify({ requestTimeoutSec: 0 }))
    assert.throws(
      () => loadFarmConfig({ configFile: file }, {}, dir),
      (e: unknown) => e instanceof CliError && e.exitCode === 2 && /requestTimeoutSec/.test(e.message),
    )
    assert.throws(
      () => loadFarmConfig({}, { GRAMFARM_CONNECT_TIMEOUT: 'soon' }, dir),
      (e: unknown) => e instanceof CliError && /GRAMFARM_CONNECT_TIMEOUT/.test(e.message),
    )
  })
})

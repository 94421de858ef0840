// Issue 13's "done when", end to end against the local test DC: a demo-sized set of accounts — Pyrogram and
// Telethon files with .json sidecars, session strings and one tdata folder — is imported (`sessions import`),
// checked (`sessions check`: the DC holds an account in each health state it can show), hardened (`sessions
// harden`: the 24-hour rule defers, then the other authorizations go and a 2FA password is set and kept sealed)
// and exported in every format (`sessions export --format …`); every imported account connects with the identity
// it came with. flood_wait(X) comes from an account the DC rate-limits (registry.floodWait: its users.getUsers
// answers 420 FLOOD_WAIT_X as Telegram's per-method limits do).
// Real Redis on 127.0.0.1:6379 under a prefix of this file; workers in this process; the CLI as child processes.
import assert from 'node:assert/strict'
import { mkdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Client } from '../src/auth/client.ts'
import {
  FileSessionStorage,
  MemorySessionStorage,
  exportSessionString,
  type SessionRecord,
} from '../src/auth/storage/index.ts'
import { telethonSessionImage } from '../src/auth/storage/telethon-file.ts'
import { writeTdata } from '../src/auth/storage/tdata/tdata-folder.ts'
import { RpcError } from '../src/mtproto/rpc-error.ts'
import { SessionSecretStore } from '../src/queue/session-secrets.ts'
import { healthOfError } from '../src/worker/session-jobs/health-state.ts'
import type { SessionReportRow } from '../src/cli/session-job-report.ts'
import { clientOptionsFor } from '../src/testdc/testdc-endpoint.ts'
import { API, REDIS_URL, runCli, startFarm, type Farm } from './farm-e2e-harness.ts'

/** The rate limit the DC puts on the flood_wait account's users.getUsers / updates.getState. */
const FLOOD_SECONDS = 600
/** Each account: its phone, how it travels, the device it was made on, and the state the check must find. */
const ACCOUNTS = [
  { phone: '9996622101', as: 'pyrogram', device: 'Pixel 8', system: 'SDK 34', state: 'active' },
  { phone: '9996622102', as: 'telethon', device: 'Galaxy S24', system: 'SDK 34', state: 'frozen' },
  { phone: '9996622103', as: 'string+sidecar', device: 'iPhone 15', system: 'iOS 17.5', state: 'restricted' },
  { phone: '9996622104', as: 'string', device: 'Desktop', system: 'Windows 11', state: 'duplicated' },
  { phone: '9996622105', as: 'pyrogram', device: 'Pixel 7', system: 'SDK 33', state: 'unauthorized' },
  { phone: '9996622106', as: 'telethon', device: 'Redmi Note 12', system: 'SDK 33', state: 'deactivated' },
  { phone: '9996622107', as: 'tdata', device: 'Desktop', system: 'Windows 10', state: 'banned' },
  { phone: '9996622108', as: 'telethon', device: 'Pixel 6', system: 'SDK 32', state: 'flood_wait' },
] as const
const APP_VERSION = '11.2.3'

let farm: Farm
/** The record each account's own login made (the one that is imported). */
const records = new Map<string, SessionRecord>()
/** The farm's account name of each phone after the import (its phone when the file said it, else id<user id>). */
const accountOf = new Map<string, string>()

before(async () => {
  farm = await startFarm({ tag: 'lifecycle-e2e' })
  await farm.startWorker({ threads: 1 })
})
after(async () => {
  await farm.stop()
})

async function login(phone: string, deviceModel: string, systemVersion: string): Promise<SessionRecord> {
  const storage = new MemorySessionStorage()
  const client = new Client(phone, {
    ...API,
    ...clientOptionsFor(farm.testDc.endpoint),
    storage,
    phoneNumber: phone,
    phoneCode: phone.slice(5, 6).repeat(5), // test numbers: the code is the DC digit five times
    deviceModel,
    systemVersion,
    appVersion: APP_VERSION,
  })
  await client.start()
  const record = (await storage.load())!
  await client.stop()
  return record
}

const cli = (args: string[]) =>
  runCli(['--redis-url', REDIS_URL, '--prefix', farm.prefix, '--testdc', farm.endpointFile, ...args], {
    timeoutMs: 180_000,
  })

function sidecar(device: string, system: string): string {
  return JSON.stringify({
    app_id: API.apiId,
    app_hash: API.apiHash,
    device,
    sdk: system,
    app_version: APP_VERSION,
    lang_code: 'en',
    system_lang_pack: 'en',
  })
}

/** The DC's view of an account's sessions (what each key announced last). */
function dcSessions(phone: string) {
  const registry = farm.testDc.accounts
  return registry.sessionsOf(registry.accountOfPhone(phone)!.id)
}

describe('sessions lifecycle: import, check, harden, export', { timeout: 600_000 }, () => {
  it('imports a mix of Pyrogram and Telethon files with sidecars, strings and a tdata folder', async () => {
    const inbox = join(farm.dir, 'inbox')
    mkdirSync(inbox)
    const strings: string[] = []
    for (const a of ACCOUNTS) {
      const record = await login(a.phone, a.device, a.system)
      records.set(a.phone, record)
      const dc = farm.testDc.endpoint.dcs.find((d) => d.id === record.dcId)!
      const withServer = { ...record, server: { host: dc.host, port: dc.port } }
      if (a.as === 'pyrogram') {
        const storage = new FileSessionStorage({ workdir: inbox, name: a.phone })
        await storage.open()
        await storage.save(withServer)
        await storage.close()
        writeFileSync(join(inbox, `${a.phone}.json`), sidecar(a.device, a.system))
      } else if (a.as === 'telethon') {
        writeFileSync(join(inbox, `${a.phone}.session`), await telethonSessionImage(withServer))
        writeFileSync(join(inbox, `${a.phone}.json`), sidecar(a.device, a.system))
      } else if (a.as === 'string+sidecar') {
        writeFileSync(join(inbox, `${a.phone}.txt`), `${exportSessionString(withServer, 'gramjs')}\n`)
        writeFileSync(join(inbox, `${a.phone}.json`), sidecar(a.device, a.system))
      } else if (a.as === 'string') strings.push(exportSessionString(withServer, 'telethon'))
      else {
        const dir = join(inbox, 'tdata')
        await writeTdata(dir, [
          { userId: record.userId!, mainDcId: record.dcId, authKeys: new Map([[record.dcId, record.authKey]]) },
        ])
      }
    }
    writeFileSync(join(inbox, 'strings.txt'), `${strings.join('\n')}\n`)
    // The account the harden terminates: a second session of the first account, on another device.
    await login(ACCOUNTS[0].phone, 'Old Laptop', 'Linux')

    const imported = await cli(['sessions', 'import', inbox, '--json'])
    assert.equal(imported.code, 0, imported.stderr + imported.stdout)
    const rows = JSON.parse(imported.stdout) as { status: string; session?: string; userId?: string }[]
    assert.equal(rows.length, ACCOUNTS.length)
    assert.ok(rows.every((r) => r.status === 'imported'))
    for (const a of ACCOUNTS) {
      const row = rows.find((r) => r.userId === records.get(a.phone)!.userId!.toString())
      assert.ok(row?.session, a.phone)
      accountOf.set(a.phone, row.session.replace(/^user-/, ''))
    }
  })

  it('checks every session: each health state appears, each account with the identity it came with', async () => {
    const registry = farm.testDc.accounts
    const id = (phone: string) => registry.accountOfPhone(phone)!.id
    const key = (phone: string) => {
      const r = records.get(phone)!
      return dcSessions(phone).find((s) => s.dcId === r.dcId && s.userId === r.userId)!
    }
    registry.freeze(id(ACCOUNTS[1].phone), { appealUrl: 'https://t.me/spambot' })
    registry.restrict(id(ACCOUNTS[2].phone), [{ platform: 'all', reason: 'spam', text: 'This account is limited.' }])
    const duped = key(ACCOUNTS[3].phone)
    registry.markDuplicated(duped.dcId, duped.authKeyId)
    const revoked = key(ACCOUNTS[4].phone)
    registry.revokeSession(revoked.dcId, revoked.authKeyId)
    registry.deactivate(id(ACCOUNTS[5].phone), 'deleted')
    registry.deactivate(id(ACCOUNTS[6].phone), 'ban')
    registry.floodWait(id(ACCOUNTS[7].phone), FLOOD_SECONDS)

    const r = await cli(['sessions', 'check', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout) as { sessions: SessionReportRow[] }
    const states = Object.fromEntries(out.sessions.map((s) => [s.account, s.state]))
    assert.deepEqual(states, Object.fromEntries(ACCOUNTS.map((a) => [accountOf.get(a.phone), a.state])))
    const frozen = out.sessions.find((s) => s.state === 'frozen')!
    assert.equal(frozen.appeal_url, 'https://t.me/spambot')
    assert.equal(out.sessions.find((s) => s.state === 'restricted')!.restriction_reasons, 'all:spam')
    // flood_wait(X): the report splits X out. The limit started with the check's own users.getUsers, so X is the
    // whole limit, as the DC answered it.
    const flooded = out.sessions.find((s) => s.account === accountOf.get(ACCOUNTS[7].phone))!
    assert.equal(flooded.wait_s, FLOOD_SECONDS)
    // Every account connects with an identity of its own: its source's, or the preset the import gave a bare
    // string or a tdata folder (never the library's defaults).
    for (const a of ACCOUNTS) {
      const row = out.sessions.find((s) => s.account === accountOf.get(a.phone))!
      assert.equal(row.default_identity, false, a.phone)
    }
    // The keys still alive were used by the check: the DC saw each with the device and app it came with.
    for (const a of ACCOUNTS.slice(0, 3)) {
      const seen = key(a.phone).client
      assert.equal(seen?.deviceModel, a.device, a.phone)
      assert.equal(seen?.systemVersion, a.system, a.phone)
      assert.equal(seen?.appVersion, APP_VERSION, a.phone)
    }
    const status = await cli(['status', '--json'])
    const health = (JSON.parse(status.stdout) as { sessionHealth: { states: Record<string, number> } }).sessionHealth
    assert.deepEqual(Object.keys(health.states).sort(), [...new Set(ACCOUNTS.map((a) => a.state))].sort())
  })

  it('hardens: deferred by the 24-hour rule, then the other session ends and a sealed 2FA password is set', async () => {
    const active = ACCOUNTS[0].phone
    assert.equal(dcSessions(active).length, 2)
    const first = await cli(['sessions', 'harden', '--account', accountOf.get(active)!, '--json'])
    assert.equal(first.code, 0, first.stderr)
    const deferred = (JSON.parse(first.stdout) as { sessions: SessionReportRow[] }).sessions[0]!
    assert.equal(deferred.state, 'deferred')
    assert.equal(deferred.password, 'set')
    assert.equal(deferred.others_found, 1)
    assert.ok(Date.parse(deferred.reset_not_before!) > Date.now() + 23 * 3600_000)
    assert.equal(dcSessions(active).length, 2)

    farm.testDc.accounts.advanceClock(24 * 3600 + 60)
    const second = await cli(['sessions', 'harden', '--json', '--report', join(farm.dir, 'harden')])
    const rows = (JSON.parse(second.stdout) as { sessions: SessionReportRow[] }).sessions
    const hardened = rows.find((s) => s.account === accountOf.get(active))!
    assert.equal(hardened.state, 'hardened')
    assert.equal(hardened.others_terminated, 1)
    assert.equal(hardened.password, 'kept') // set by the first run, known to the farm
    assert.equal(dcSessions(active).length, 1)
    assert.equal(dcSessions(active)[0]!.client?.deviceModel, ACCOUNTS[0].device)
    // The dead and banned sessions say why they were not hardened.
    assert.equal(rows.find((s) => s.account === accountOf.get(ACCOUNTS[6].phone))!.state, 'banned')
    assert.notEqual(second.code, 0)
    // The password is in the farm's secret store (sealed when a master key is set), and in no output.
    const secrets = await new SessionSecretStore(farm.redis, farm.prefix).get(`user-${accountOf.get(active)}`)
    assert.ok(secrets.password && secrets.password.length >= 20)
    assert.equal(secrets.pendingPassword, undefined)
    for (const text of [first.stdout, first.stderr, second.stdout, second.stderr])
      assert.ok(!text.includes(secrets.password))
    assert.equal(farm.testDc.accounts.accountOfPhone(active)!.password !== null, true)
    assert.equal(statSync(join(farm.dir, 'harden.csv')).mode & 0o777, 0o600)
  })

  it('exports every format (0600, with sidecars keeping the identity)', async () => {
    for (const format of ['pyrogram', 'telethon', 'gramjs', 'strings', 'tdata']) {
      const dir = join(farm.dir, `out-${format}`)
      const out = await cli(['sessions', 'export', '--dir', dir, '--format', format, '--json'])
      assert.equal(out.code, 0, out.stderr)
      const doc = JSON.parse(out.stdout) as { exported: { file: string; sidecar: string }[] }
      assert.equal(doc.exported.length, ACCOUNTS.length, format)
      for (const e of doc.exported) assert.equal(statSync(e.sidecar).mode & 0o777, 0o600)
    }
  })

  it('maps FLOOD_WAIT_X to flood_wait(X)', () => {
    assert.deepEqual(healthOfError(new RpcError(420, 'FLOOD_WAIT_37', 'users.getUsers')), {
      state: 'flood_wait(37)',
      error: '420 FLOOD_WAIT_37',
    })
  })
})

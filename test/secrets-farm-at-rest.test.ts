// A farm onboarding with a master key leaves nothing secret readable in Redis: every key of the run's prefix is
// scanned while the logins run and after they end, for auth keys, 2FA passwords, bot tokens, proxy credentials,
// api hashes, codes and phone_code_hash in clear. Test DC over loopback, real Redis on 127.0.0.1:6379.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { parseAccounts } from '../src/farm/accounts-file.ts'
import { runOnboarding } from '../src/cli/onboarding.ts'
import { keyringFromSpec, type KeyringSpec } from '../src/foundation/master-key-source.ts'
import { publishCode } from '../src/queue/code-channel.ts'
import { loginJobId } from '../src/queue/login-job.ts'
import { API, sink, startFarm, startSocksProxy, type Farm, type SocksProxy } from './farm-e2e-harness.ts'

const PLAIN = '9996621111'
const VAULT_2FA = '9996631211'
const PROVIDER_2FA = '9996641212'
const EARLY_CODE = '9996651611' // its SMS is lost: only the code parked before the login asks can work
const PROXIED = '9996621711'
const VAULT_PASSWORD = 'vault-password-in-clear?'
const PROVIDER_PASSWORD = 'provider-password-in-clear?'
const PROXY_AUTH = { username: 'farmer', password: 'proxy-secret-in-clear' }
const OWN_API_HASH = 'abcdef9876543210abcdef9876543210'
const BOT_TOKEN = '7200000011:AAFakeTokenForSecretsTest0000000011'

const SEED = {
  users: [
    { phone: VAULT_2FA, password: { password: VAULT_PASSWORD, hint: 'v' } },
    { phone: PROVIDER_2FA, password: PROVIDER_PASSWORD, passwordViaProvider: true },
    { phone: EARLY_CODE, dropCode: true },
  ],
  bots: [{ token: BOT_TOKEN, dcId: 2 }],
}

const spec: KeyringSpec = { current: randomBytes(32).toString('hex'), old: [], requireEncryption: false }
const keyring = keyringFromSpec(spec)
const SEALED = `gfs1.${keyring.current!.id}.`

let farm: Farm
let socks: SocksProxy

before(async () => {
  socks = await startSocksProxy(PROXY_AUTH)
  farm = await startFarm({ tag: 'secrets-at-rest', seed: SEED, provider: { sealer: keyring } })
  await farm.startWorker({ threads: 1, codeTimeoutMs: 8000, recheckMs: 300, keyring: spec })
})

after(async () => {
  await farm.stop()
  await socks.close()
})

/** Values that must never be readable. */
const NEEDLES = [
  VAULT_PASSWORD,
  PROVIDER_PASSWORD,
  PROXY_AUTH.password,
  OWN_API_HASH,
  BOT_TOKEN,
  BOT_TOKEN.split(':')[1]!,
]

interface Finding {
  key: string
  what: string
}

/** Every key under the prefix, every value (as bytes), checked; sealed fields checked by name. */
async function scan(found: Finding[], seen: Set<string>): Promise<void> {
  const r = farm.redis
  let cursor = '0'
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${farm.prefix}*`, 'COUNT', 1000)
    cursor = next
    for (const key of keys) {
      const type = await r.type(key)
      const values: [string, Buffer][] = []
      if (type === 'string') {
        const v = await r.getBuffer(key)
        if (v) values.push(['', v])
      } else if (type === 'hash') {
        for (const [f, v] of Object.entries(await r.hgetallBuffer(key))) values.push([f, v])
      } else if (type === 'list') {
        for (const v of await r.lrangeBuffer(key, 0, -1)) values.push(['', v])
      } else if (type === 'set') {
        for (const v of await r.smembersBuffer(key)) values.push(['', v])
      } else if (type === 'zset') {
        for (const v of await r.zrangeBuffer(key, '0', '-1')) values.push(['', v])
      } else if (type === 'stream') {
        for (const [, fields] of await r.xrangeBuffer(key, '-', '+')) for (const v of fields) values.push(['', v])
      }
      const rel = key.slice(farm.prefix.length)
      seen.add(rel.replace(/[0-9a-f]{16,}|\d{5,}/g, '…'))
      for (const [field, v] of values) {
        const text = v.toString('latin1')
        for (const n of NEEDLES)
          if (text.includes(n)) found.push({ key: rel, what: `${field}: holds ${n.slice(0, 6)}…` })
        const mustBeSealed =
          (/^session:[^:]+$/.test(rel) && (field === 'authKey' || field.startsWith('dcKey:'))) ||
          (rel.startsWith('login:') && field === 'phoneCodeHash') ||
          rel.startsWith('secret:') ||
          (/^code:(pending:)?\d+(:\d+)?$/.test(rel) && type === 'string') ||
          (/^password:\d+$/.test(rel) && type === 'string')
        if (mustBeSealed && !text.startsWith(SEALED)) found.push({ key: rel, what: `${field || 'value'} not sealed` })
      }
    }
  } while (cursor !== '0')
}

describe('secrets at rest', () => {
  it('an onboarding with a master key leaves no secret readable in Redis, during or after the run', async () => {
    assert.equal(
      (await publishCode(farm.redis, { phone: EARLY_CODE, code: '55555' }, { prefix: farm.prefix, sealer: keyring }))
        .status,
      'pending',
    )
    const proxied = JSON.stringify([
      {
        kind: 'user',
        phone: PROXIED,
        proxy: `socks5://${PROXY_AUTH.username}:${PROXY_AUTH.password}@127.0.0.1:${socks.port}`,
        apiId: API.apiId,
        apiHash: OWN_API_HASH,
      },
      { kind: 'bot', token: BOT_TOKEN },
    ])
    const csv = `phone,password\n${PLAIN},\n${VAULT_2FA},${VAULT_PASSWORD}\n${PROVIDER_2FA},\n${EARLY_CODE},\n`
    const specs = [...parseAccounts(csv, { file: 'users.csv' }), ...parseAccounts(proxied, { file: 'more.json' })]
    const found: Finding[] = []
    const seen = new Set<string>()
    let scans = 0
    let scanning = true
    const during = (async () => {
      while (scanning) {
        await scan(found, seen)
        scans++
      }
    })()
    const { outcome } = await runOnboarding(farm.redis, farm.prefix, specs, {
      progress: false,
      timeoutMs: 30_000,
      stdout: sink(),
      stderr: sink(),
      sealer: keyring,
    })
    scanning = false
    await during
    await scan(found, seen)
    const states = Object.fromEntries(outcome.results.map((r) => [r.account, r.state]))
    assert.deepEqual(states, {
      [PLAIN]: 'authorized',
      [VAULT_2FA]: 'authorized',
      [PROVIDER_2FA]: 'authorized',
      [EARLY_CODE]: 'authorized',
      [PROXIED]: 'authorized',
      bot7200000011: 'authorized',
    })
    assert.ok(scans >= 3, `scanned ${scans} times during the run`)
    // job ids are keyed: none is the SHA-256 of a phone, which a log reader would reverse
    const plainIds = [PLAIN, VAULT_2FA, PROVIDER_2FA, EARLY_CODE, PROXIED].map((p) => loginJobId('user', p))
    for (const r of outcome.results)
      assert.ok(!plainIds.includes(r.jobId!), `${r.account}: job id ${r.jobId} is the phone's hash`)
    // the scan saw what it is meant to check
    for (const kind of ['session:', 'secret:', 'login:', 'code:pending:']) {
      assert.ok(
        [...seen].some((k) => k.startsWith(kind)),
        `a ${kind} key was seen (${[...seen].join(' ')})`,
      )
    }
    assert.deepEqual(
      found.filter((f, i) => found.findIndex((g) => g.key === f.key && g.what === f.what) === i),
      [],
    )
  })
})

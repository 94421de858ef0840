// The farm logger: secrets censored at every depth we cover, error codes kept, job child loggers with masked
// phones, pretty output when asked.
import { strict as assert } from 'node:assert'
import { Writable } from 'node:stream'
import { describe, it } from 'node:test'
import { REDACT_CENSOR, SECRET_KEYS, createLogger, jobLogger, maskPhone } from '../src/foundation/logger.ts'

function sink(): { stream: Writable; text: () => string } {
  let out = ''
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out += chunk.toString()
      cb()
    },
  })
  return { stream, text: () => out }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r))

describe('logger', () => {
  it('censors every secret key at the top level and one and two levels deep', async () => {
    const { stream, text } = sink()
    const log = createLogger({ level: 'trace', destination: stream })
    const secrets: string[] = []
    const secret = (key: string, depth: number): string => {
      const v = `S3CRET-${key}-${depth}-${secrets.length}`
      secrets.push(v)
      return v
    }
    for (const key of SECRET_KEYS) {
      log.info({ [key]: secret(key, 0) }, 'top')
      log.info({ account: { [key]: secret(key, 1) } }, 'one deep')
      log.info({ job: { data: { [key]: secret(key, 2) } } }, 'two deep')
    }
    log.debug({ authKey: Buffer.from('raw auth key bytes S3CRET-buffer') }, 'buffer')
    secrets.push('S3CRET-buffer')
    await tick()
    const out = text()
    for (const s of secrets) assert.ok(!out.includes(s), `${s} was written`)
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    assert.equal(lines.length, SECRET_KEYS.length * 3 + 1)
    assert.equal(lines[0]?.[SECRET_KEYS[0] as string], REDACT_CENSOR)
    assert.deepEqual(lines[2]?.job, { data: { [SECRET_KEYS[0] as string]: REDACT_CENSOR } })
  })

  it('censors proxies, MTProxy and vault secrets, sessions and their auth keys by name', async () => {
    const { stream, text } = sink()
    const log = createLogger({ destination: stream })
    const keys = [
      'secret',
      'secrets',
      'proxy',
      'proxyUrl',
      'session',
      'dcAuthKeys',
      'dc_auth_keys',
      'authKeys',
      'apiHash',
      'api_hash',
      'phoneCodeHash',
    ]
    for (const key of keys) {
      log.info({ [key]: `LEAK-${key}-0` }, 'top')
      log.info({ account: { [key]: `LEAK-${key}-1` } }, 'one deep')
      log.info({ job: { options: { [key]: `LEAK-${key}-2` } } }, 'two deep')
    }
    // As they would really be logged: a job's options, an MTProxy config, a session record.
    log.info({ options: { proxy: 'socks5://user:LEAK-pw@127.0.0.1:1080' } }, 'job options')
    log.info({ mtproxy: { host: 'h', port: 443, secret: 'eeLEAK-mtproxy' } }, 'mtproxy')
    log.info({ record: { dcId: 2, dcAuthKeys: { 4: 'LEAK-dc4-key' } } }, 'session record')
    await tick()
    assert.doesNotMatch(text(), /LEAK/)
  })

  it("keeps an error's own code (as errCode) while login codes stay hidden", async () => {
    const { stream, text } = sink()
    const log = createLogger({ destination: stream })
    const err = Object.assign(new Error('connect failed'), { code: 'ECONNREFUSED' })
    log.warn({ err, code: '31337' }, 'redis down')
    await tick()
    const line = JSON.parse(text()) as { err: Record<string, unknown>; code: string }
    assert.equal(line.err.errCode, 'ECONNREFUSED')
    assert.equal(line.code, REDACT_CENSOR)
    assert.ok(!text().includes('31337'))
  })

  it("logs a failed login's error message (a string under `error`) as that string", async () => {
    const { stream, text } = sink()
    const log = createLogger({ destination: stream })
    log.warn({ state: 'failed(timeout)', error: 'RequestTimeoutError: no answer in 10 s' }, 'login failed')
    await tick()
    const line = JSON.parse(text()) as { error: unknown }
    assert.equal(line.error, 'RequestTimeoutError: no answer in 10 s')
  })

  it('makes a child logger per job with a masked phone', async () => {
    const { stream, text } = sink()
    const log = createLogger({ destination: stream })
    const child = jobLogger(log, {
      id: 'login-42',
      name: 'login',
      data: { kind: 'user', phone: '99966123234', password: 'pw-S3CRET' },
    })
    child.info('signing in')
    jobLogger(log, { id: 'b-1', name: 'bot', data: { accountKey: `123:${'x'.repeat(35)}` } }).info('bot')
    jobLogger(log, { id: 'b-2', name: 'bot', data: { accountKey: 'bot:0123abcd' } }).info('bot')
    jobLogger(log, {
      id: 'b-3',
      name: 'bot',
      data: { kind: 'bot', account: 'bot100200', accountKey: 'bot:100200', runId: 'run-7' },
    }).info('bot')
    await tick()
    const [a, b, c, d] = text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    assert.deepEqual([a?.jobId, a?.kind, a?.account], ['login-42', 'user', maskPhone('99966123234')])
    assert.equal(b?.account, REDACT_CENSOR, 'a raw token given as account key is not logged')
    assert.equal(c?.account, 'bot:0123abcd')
    // The report's name for the account (bot100200, not bot:100200), and the run the job belongs to.
    assert.deepEqual([d?.account, d?.runId], ['bot100200', 'run-7'])
    assert.ok(!text().includes('99966123234') && !text().includes('pw-S3CRET') && !text().includes('x'.repeat(35)))
  })

  it('masks phones of any length', () => {
    assert.match(maskPhone('99966123234'), /^\+99966\*\*\*234~[0-9a-f]{4}$/)
    assert.equal(maskPhone('+999 66-123-234'), maskPhone('99966123234'))
    assert.match(maskPhone('1234567'), /^\+12\*\*\*67~[0-9a-f]{4}$/)
    assert.equal(maskPhone('123'), '+***')
  })

  it('keeps masked phones that differ only in hidden digits apart, without showing those digits', () => {
    // Test numbers 99966 X YYYY: the DC digit and the first of the four are hidden; the tag tells them apart.
    const phones = ['9996621001', '9996631001', '9996641001', '9996622001', '9996651001']
    const masked = phones.map(maskPhone)
    assert.equal(new Set(masked).size, phones.length, masked.join(' '))
    for (const m of masked) assert.ok(m.startsWith('+9996***001~'), m)
  })

  it('writes pretty lines when asked, still censored', async () => {
    const { stream, text } = sink()
    const log = createLogger({ destination: stream, pretty: true })
    log.info({ password: 'pw-S3CRET', n: 1 }, 'hello pretty')
    await new Promise((r) => setTimeout(r, 50))
    assert.match(text(), /INFO.*hello pretty/)
    assert.ok(!text().trimStart().startsWith('{'), 'not JSON')
    assert.ok(!text().includes('pw-S3CRET'))
  })
})

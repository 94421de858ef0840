// `gramfarm status --run R` lists what each pending account waits for (its code, a QR scan, …), and
// `status --run R --watch` follows the run until it ends — where `--run` used to print one snapshot of the
// finished accounts only, although the README said it follows the run.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { scanQrLogin } from '../src/demo/qr-scan-once.ts'
import { Coordinator } from '../src/farm/coordinator.ts'
import { publishCode } from '../src/queue/code-channel.ts'
import { FarmRedisKeys } from '../src/queue/redis-keys.ts'
import { CLI, REDIS_URL, runCli, startFarm, waitFor, type Farm } from './farm-e2e-harness.ts'

const LOST_SMS = '9996627301' // its code never reaches the provider: the login waits for it
let farm: Farm

before(async () => {
  farm = await startFarm({ tag: 'cli-status-watch', seed: { users: [{ phone: LOST_SMS, dropCode: true }] } })
  await farm.startWorker({ codeTimeoutMs: 90_000 })
})

after(
  async () => {
    await farm.stop()
  },
  { timeout: 60_000 },
)

describe('status --run', () => {
  it(
    'says what each pending account waits for, and --watch follows the run until it ends',
    { timeout: 150_000 },
    async () => {
      const coordinator = new Coordinator({ redis: farm.redis, prefix: farm.prefix })
      try {
        const run = await coordinator.enqueue([
          { kind: 'user', phone: LOST_SMS, source: { file: 'watch', line: 1 } },
          { kind: 'qr', label: 'desk-watch', source: { file: 'watch', line: 2 } },
        ])
        const qrKey = new FarmRedisKeys(farm.prefix).qr(run.accounts[1]!.jobId)
        const url = await waitFor('the QR code', () => farm.redis.hget(qrKey, 'url'), 30_000)
        await waitFor(
          'the login to ask for its code',
          async () => (await farm.redis.keys(`${farm.prefix}*req*${LOST_SMS}*`)).length > 0,
          30_000,
        )
        const base = ['--redis-url', REDIS_URL, '--prefix', farm.prefix, 'status', '--run', run.runId]

        const once = await runCli([...base, '--show-phones'])
        assert.equal(once.code, 4, once.stderr) // not over
        assert.match(once.stdout, new RegExp(`${LOST_SMS}\\s+user\\s+pending.*waits for code \\(\\d+ s left\\)`))
        assert.match(once.stdout, /desk-watch\s+qr\s+pending.*waits for qr scan/)

        // Follow it while the code comes and the QR is scanned.
        const watcher = spawn(
          process.execPath,
          ['--import', 'tsx', CLI, ...base, '--watch', '--interval', '0.5', '--show-phones'],
          { cwd: join(import.meta.dirname, '..') },
        )
        let out = ''
        watcher.stdout.on('data', (d: Buffer) => (out += d.toString()))
        watcher.stderr.on('data', (d: Buffer) => (out += d.toString()))
        const exited = new Promise<number | null>((resolve) => watcher.once('exit', (code) => resolve(code)))
        await waitFor('the watch to show the run', () => /waits for qr scan/.test(out), 30_000)
        await publishCode(farm.redis, { phone: LOST_SMS, code: '22222' }, { prefix: farm.prefix })
        await scanQrLogin({ endpoint: farm.testDc.endpoint, url, phone: '9996627302' })
        const code = await Promise.race([
          exited,
          new Promise<'still running'>((r) => setTimeout(() => r('still running'), 60_000)),
        ])
        if (code === 'still running') watcher.kill('SIGKILL')
        assert.equal(code, 0, out)
        assert.match(out, /2\/2 finished/)
        assert.match(out, new RegExp(`${LOST_SMS}\\s+user\\s+authorized`))
        assert.match(out, /desk-watch\s+qr\s+authorized/)
      } finally {
        await coordinator.close()
      }
    },
  )

  it('refuses --watch without --run (exit 2)', { timeout: 60_000 }, async () => {
    const r = await runCli(['--redis-url', REDIS_URL, '--prefix', farm.prefix, 'status', '--watch'])
    assert.equal(r.code, 2, r.stderr)
  })
})

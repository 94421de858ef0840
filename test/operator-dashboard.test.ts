// The dashboard in a real browser (issue 12): Debian's chromium, headless, driven by puppeteer-core (nothing
// downloads a browser). A small onboarding whose codes arrive through POST /v1/codes while the page watches: the
// waiting logins show (phones masked without a token), the run's counts change to the final table, an admin
// token shows phones in full, /metrics counts equal the outcome, bull-board answers at /queues; the workers panel
// shows the worker's heartbeat and threads, sendCode pacing shows rates a minute, a FLOOD_WAIT longer than the
// pacing's pause shows with its end and seconds left. A screenshot of
// the dashboard is kept in test/output/ (git-ignored).
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import puppeteer, { type Browser } from 'puppeteer-core'
import { Coordinator } from '../src/farm/coordinator.ts'
import { parseAccounts } from '../src/farm/accounts-file.ts'
import { loginJobId } from '../src/queue/login-job.ts'
import { startOperatorServer, type OperatorServer } from '../src/operator/operator-server.ts'
import { FarmRedisKeys } from '../src/queue/redis-keys.ts'
import { recordFloodWait } from '../src/queue/flood-waits.ts'
import { startFarm, waitFor, type Farm } from './farm-e2e-harness.ts'

const CODES_TOKEN = 'dash-codes-token-0123456789'
const ADMIN_TOKEN = 'dash-admin-token-0123456789'
const PHONES = ['9996621501', '9996631502', '9996621503']
const BANNED = '9996621504'
const OUTPUT = join(import.meta.dirname, 'output')
/** Debian's package (`apt-get install chromium`; .ci/run installs it when missing). */
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p))

let farm: Farm
let server: OperatorServer
let browser: Browser
const sent = new Map<string, string>()

before(async () => {
  assert.ok(CHROMIUM, 'chromium is not installed (apt-get install chromium)')
  farm = await startFarm({ tag: 'operator-dashboard', seed: { users: [{ phone: BANNED, banned: true }] } })
  farm.testDc.accounts.onCode = (d) => void sent.set(d.phone, d.code) // codes reach the farm only over HTTP
  server = await startOperatorServer({
    redis: farm.redis,
    prefix: farm.prefix,
    tokens: { codes: [CODES_TOKEN], admin: [ADMIN_TOKEN], webhook: [] },
  })
  // As root the sandbox cannot start; the browser only ever opens this test's own local pages.
  browser = await puppeteer.launch({
    executablePath: CHROMIUM!,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  })
})

after(async () => {
  await browser?.close()
  await server?.close()
  await farm?.stop()
})

describe('dashboard in headless chromium', () => {
  it(
    'follows an onboarding fed by POST /v1/codes to its final table, masked without a token',
    { timeout: 180_000 },
    async () => {
      const worker = await farm.startWorker()
      const coordinator = new Coordinator({ redis: farm.redis, prefix: farm.prefix })
      const page = await browser.newPage()
      try {
        await page.goto(`${server.url}/`, { waitUntil: 'domcontentloaded' })
        const text = async (id: string): Promise<string> =>
          page.$eval(`#${id}`, (e) => (e as unknown as { innerText: string }).innerText)
        /** A panel's table as rows of cell texts, its head first. */
        const rows = (id: string): Promise<string[][]> =>
          page.$$eval(`#${id} tr`, (trs) =>
            trs.map((tr) =>
              [...tr.querySelectorAll('th,td')].map((c) => (c as unknown as { innerText: string }).innerText),
            ),
          )
        await waitFor(
          'workers on the page',
          async () => (await text('workers')) !== '…' && Number(await text('workers')) >= 1,
          20_000,
          200,
        )
        // The workers panel: this worker's heartbeat, with its threads (the harness runs one).
        assert.equal(await text('threads'), '1')
        const workerRows = await rows('workerList')
        const mine = workerRows.find((r) => r[0] === worker.id)
        assert.ok(mine, JSON.stringify(workerRows))
        const wcell = (name: string): string | undefined => mine[workerRows[0]!.indexOf(name)]
        assert.deepEqual([wcell('threads'), wcell('pid'), wcell('taking jobs')], ['1', String(process.pid), 'yes'])

        const run = await coordinator.enqueue(
          parseAccounts(`${[...PHONES, BANNED].join('\n')}\n`, { format: 'phones' }),
          { label: 'dashboard.txt' },
        )
        const following = coordinator.follow(run, { timeoutMs: 150_000 })
        // The logins wait for their codes: the page lists them, masked.
        const waitingText = await waitFor(
          '3 logins waiting for a code on the page',
          async () => {
            const t = await text('waiting')
            return (t.match(/\tcode\t/g) ?? []).length >= PHONES.length ? t : null
          },
          90_000,
          250,
        )
        for (const phone of PHONES) assert.ok(!waitingText.includes(phone), 'phones are masked without a token')
        assert.match(waitingText, /\+9996\*\*\*50\d~[0-9a-f]{4}/)
        const partial = await text('runs')
        assert.match(partial, new RegExp(run.runId))

        for (const phone of PHONES) {
          const res = await fetch(`${server.url}/v1/codes`, {
            method: 'POST',
            headers: { authorization: `Bearer ${CODES_TOKEN}`, 'content-type': 'application/json' },
            body: JSON.stringify({ phone, code: sent.get(phone), jobId: loginJobId('user', phone) }),
          })
          const body = (await res.json()) as { waiting: boolean; status: string }
          assert.deepEqual([res.status, body.status, body.waiting], [200, 'stored', true])
        }
        const outcome = await following
        assert.deepEqual(
          outcome.results.map((r) => r.state),
          ['authorized', 'authorized', 'authorized', 'banned'],
        )

        // The page's run row changes to the final table: 4 of 4, 3 authorized, 1 banned.
        const row = await waitFor(
          'the final table',
          async () => {
            const rows = await page.$$eval('#runs tr', (trs) =>
              trs.map((tr) =>
                [...tr.querySelectorAll('th,td')].map((c) => (c as unknown as { innerText: string }).innerText),
              ),
            )
            const head = rows[0] ?? []
            const mine = rows.find((r) => r[0] === run.runId)
            if (!mine) return null
            const cell = (name: string): string | undefined => mine[head.indexOf(name)]
            return cell('done') === '4' && cell('authorized') === '3' && cell('banned') === '1' ? { head, mine } : null
          },
          30_000,
          250,
        )
        assert.equal(row.mine[row.head.indexOf('total')], '4')
        // sendCode pacing as rates a minute: the four codes sent just now, over all DCs and on DCs 2 and 3.
        const rateRows = await waitFor(
          'sendCode rates',
          async () => {
            const r = await rows('rates')
            const sent = (scope: string): number => Number(r.find((x) => x[0] === scope)?.[1] ?? 0)
            return sent('all DCs') > 0 && sent('DC 2') > 0 && sent('DC 3') > 0 ? r : null
          },
          10_000,
          250,
        )
        assert.deepEqual(rateRows[0], ['scope', 'sent / min', 'paced / min'])
        assert.equal(await text('rateWindow'), '5')
        // FLOOD_WAITs per DC: one longer than the pacing's pause shows with its end and seconds left.
        await recordFloodWait(farm.redis, new FarmRedisKeys(farm.prefix).stats, 2, 900)
        const floodRow = await waitFor(
          'the FLOOD_WAIT of DC 2',
          async () => {
            const r = await rows('flood')
            const dc2 = r.find((x) => x[0] === '2')
            return dc2 && dc2[1] !== 'none now' ? { head: r[0]!, dc2 } : null
          },
          10_000,
          250,
        )
        const fcell = (name: string): string | undefined => floodRow.dc2[floodRow.head.indexOf(name)]
        assert.ok(Number(fcell('seconds left')) > 880 && Number(fcell('seconds left')) <= 900, fcell('seconds left'))
        assert.equal(fcell('seconds summed'), '900')
        assert.match(fcell('waiting until') ?? '', /^\d{4}-\d\d-\d\dT/)
        const failures = await text('failures')
        assert.match(failures, /banned/)
        assert.ok(!failures.includes(BANNED), 'masked without a token')
        mkdirSync(OUTPUT, { recursive: true })
        const shot = join(OUTPUT, 'dashboard.png')
        await page.screenshot({ path: shot, fullPage: true })
        assert.ok(statSync(shot).size > 5_000)

        // An admin sees phones in full.
        const adminPage = await browser.newPage()
        await adminPage.goto(`${server.url}/?token=${ADMIN_TOKEN}`, { waitUntil: 'domcontentloaded' })
        await waitFor(
          'the admin view',
          async () =>
            (await adminPage.$eval('#failures', (e) => (e as unknown as { innerText: string }).innerText)).includes(
              BANNED,
            ),
          20_000,
          250,
        )
        assert.match(
          await adminPage.$eval('#masked', (e) => (e as unknown as { innerText: string }).innerText),
          /admin/,
        )
        await adminPage.close()

        // /metrics counts what the outcome says.
        const metrics = await (await fetch(`${server.url}/metrics`)).text()
        assert.match(metrics, /^gramfarm_logins_total\{kind="user",state="authorized"\} 3$/m)
        assert.match(metrics, /^gramfarm_logins_total\{kind="user",state="banned"\} 1$/m)
        // bull-board, read-only.
        const queues = await fetch(`${server.url}/queues`)
        assert.equal(queues.status, 200)
        assert.match(await queues.text(), /<html/i)
      } finally {
        await page.close()
        await coordinator.close()
        await worker.close()
      }
    },
  )
})

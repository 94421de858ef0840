// `gramfarm qr [--count N]`: N QR-login slots. The worker publishes each slot's tg://login URL (on `<prefix>qr`,
// and at `<prefix>qr:<jobId>`); this command shows them — as QR codes on a terminal — until each is scanned
// (Telegram → Settings → Devices → Link Desktop Device) or times out.
import type { Command } from 'commander'
import type { AccountSpec } from '../../farm/accounts-file.ts'
import { FarmRedisKeys } from '../../queue/redis-keys.ts'
import { CliError, ExitCode } from '../exit-codes.ts'
import { writeRaw } from '../terminal-output.ts'
import { action, addRunOptions, flagsOf, type RunFlags } from './command-kit.ts'
import { duplicateRedis } from '../../queue/redis-connection.ts'

export function registerQr(program: Command): void {
  addRunOptions(
    program
      .command('qr')
      .description('log in accounts by QR code: shows one QR per slot until a phone scans it')
      .option('--count <n>', 'how many QR slots', '1')
      .option('--label <prefix>', 'slot names: <prefix>-1, <prefix>-2, … (default qr-<time>)'),
  )
    .addHelpText(
      'after',
      `
Accounts already logged in by the farm are excluded (except_ids): scanning with one of them does nothing.

Example:
  gramfarm qr --count 3 --with-worker --testdc out/testdc-endpoint.json --sessions-dir out/sessions`,
    )
    .action(
      action(async (_opts: unknown, cmd: Command) => {
        const flags = flagsOf<RunFlags & { count: string; label?: string }>(cmd)
        if (!/^\d+$/.test(flags.count) || Number(flags.count) < 1)
          throw new CliError('--count must be a positive integer', ExitCode.usage)
        const count = Number(flags.count)
        const [{ executeRun }, { default: QRCode }] = await Promise.all([import('./run-accounts.ts'), import('qrcode')])
        const prefix = flags.label ?? `qr-${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}`
        const labels = Array.from({ length: count }, (_, i) => `${prefix}-${i + 1}`)
        const specs: AccountSpec[] = labels.map((label, i) => ({
          kind: 'qr',
          label,
          source: { file: 'gramfarm qr', line: i + 1 },
        }))
        const ours = new Set(labels)
        return executeRun(
          specs,
          flags,
          { label: 'gramfarm qr' },
          {
            afterConnect: async (redis, farmPrefix) => {
              const shown = new Map<string, string>()
              const show = (account: string, url: string, expires: number): void => {
                if (!ours.has(account) || shown.get(account) === url) return
                shown.set(account, url)
                const until = new Date(expires * 1000).toLocaleTimeString()
                if (process.stderr.isTTY) {
                  // The QR is drawn with colour sequences of our own: raw; the slot's name is not ours.
                  void QRCode.toString(url, { type: 'terminal', small: true }).then((ascii) => {
                    // The URL too: \`gramfarm testdc scan <url>\` takes it, against the test DC.
                    process.stderr.write(`\n${account} ${url} (valid until ${until}):\n`)
                    writeRaw(process.stderr, `${ascii}\n`)
                  })
                } else {
                  process.stderr.write(`${account} ${url} (valid until ${until})\n`)
                }
              }
              const sub = duplicateRedis(redis, { maxRetriesPerRequest: null, enableOfflineQueue: true })
              sub.on('error', () => undefined)
              sub.on('message', (_ch: string, json: string) => {
                try {
                  const m = JSON.parse(json) as { account?: unknown; url?: unknown; expires?: unknown }
                  if (typeof m.account === 'string' && typeof m.url === 'string')
                    show(m.account, m.url, Number(m.expires))
                } catch {
                  // not a QR message
                }
              })
              await sub.subscribe(new FarmRedisKeys(farmPrefix).qrChannel)
              // disconnect, not quit: a QUIT would wait for a Redis that went away.
              return async () => sub.disconnect()
            },
          },
        )
      }),
    )
}

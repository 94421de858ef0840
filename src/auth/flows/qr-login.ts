// Login by QR code: auth.exportLoginToken (with except_ids) → tg://login?token=… shown as an ASCII QR →
// wait for updateLoginToken (and poll as a fallback) → re-export on expiry → loginTokenMigrateTo: import
// the token on the user's DC → loginTokenSuccess; 2FA after the scan when the account has it.
import QRCode from 'qrcode'
import { RpcError } from '../../mtproto/rpc-error.ts'
import type { TlValue, tl } from '../../mtproto/tl/index.ts'
import { LoginError } from '../auth-errors.ts'
import type { PasswordContext, Provider } from '../credential-provider.ts'
import { checkPassword } from './password-check.ts'
import type { Authorization, LoginHost } from './login-host.ts'

export interface QrCodeInfo {
  /** tg://login?token=<base64url without padding> */
  url: string
  /** When the token expires (unix seconds). */
  expires: number
  /** The QR as text for a terminal. */
  ascii: string
}

export interface QrLoginOptions {
  /** User ids already logged in: Telegram refuses to log them in again through this token. */
  exceptIds: readonly bigint[]
  /** Draw the QR yourself; by default it is printed when stdout is a terminal. */
  onQrCode?(qr: QrCodeInfo): void | Promise<void>
  password: Provider<string, PasswordContext> | undefined
  maxPasswordAttempts: number
  /** Give up after this long without a scan (default 5 minutes). */
  timeoutMs?: number
  /** Poll exportLoginToken this often in case updateLoginToken is lost. */
  pollIntervalMs?: number
  signal?: AbortSignal
}

const DEFAULT_TIMEOUT_MS = 5 * 60_000
const DEFAULT_POLL_MS = 5_000

export function loginUrl(token: Uint8Array): string {
  return `tg://login?token=${Buffer.from(token).toString('base64url')}`
}

type LoginTokenResult = tl.auth.RawLoginToken | tl.auth.RawLoginTokenMigrateTo | tl.auth.RawLoginTokenSuccess

export async function qrLogin(host: LoginHost, opts: QrLoginOptions): Promise<Authorization> {
  const deadline = Date.now() + (opts.timeoutMs ?? DEFAULT_TIMEOUT_MS)
  let shownToken = ''
  try {
    for (;;) {
      if (Date.now() > deadline) throw new LoginError('qr_expired', 'nobody scanned the QR code in time')
      opts.signal?.throwIfAborted()
      const result = await host.invoke<LoginTokenResult>({
        _: 'auth.exportLoginToken',
        apiId: host.apiId,
        apiHash: host.apiHash,
        exceptIds: [...opts.exceptIds],
      })
      if (result._ === 'auth.loginTokenSuccess') return result.authorization as Authorization
      if (result._ === 'auth.loginTokenMigrateTo') {
        host.switchHomeDc(result.dcId)
        const imported = await host.invoke<LoginTokenResult>({ _: 'auth.importLoginToken', token: result.token })
        if (imported._ === 'auth.loginTokenSuccess') return imported.authorization as Authorization
        continue
      }
      const url = loginUrl(result.token)
      if (url !== shownToken) {
        shownToken = url
        const ascii = await QRCode.toString(url, { type: 'terminal', small: true })
        const info: QrCodeInfo = { url, expires: result.expires, ascii }
        if (opts.onQrCode) await opts.onQrCode(info)
        else if (process.stdout.isTTY)
          process.stdout.write(
            `Scan this QR code with Telegram (Settings → Devices → Link Desktop Device):\n${ascii}\n`,
          )
      }
      // Wait for the scan, the token's expiry, or the poll interval, whichever is first.
      const waitMs = Math.max(
        0,
        Math.min(result.expires * 1000 - Date.now(), opts.pollIntervalMs ?? DEFAULT_POLL_MS, deadline - Date.now()),
      )
      const ac = new AbortController()
      const timer = setTimeout(() => ac.abort(), waitMs)
      opts.signal?.addEventListener('abort', () => ac.abort(), { once: true })
      await host.nextUpdate(isLoginTokenUpdate, ac.signal).catch(() => undefined)
      clearTimeout(timer)
    }
  } catch (err) {
    if (err instanceof RpcError && err.is('SESSION_PASSWORD_NEEDED')) {
      return checkPassword(host, {
        password: opts.password,
        maxAttempts: opts.maxPasswordAttempts,
        phoneNumber: undefined,
      })
    }
    throw err
  }
}

function isLoginTokenUpdate(u: TlValue): boolean {
  if (u._ === 'updateLoginToken') return true
  if (u._ === 'updateShort') return (u['update'] as TlValue)._ === 'updateLoginToken'
  if (u._ === 'updates' || u._ === 'updatesCombined')
    return (u['updates'] as TlValue[]).some((x) => x._ === 'updateLoginToken')
  return false
}

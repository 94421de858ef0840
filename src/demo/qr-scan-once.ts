// One scan of a QR login code against the local test DC, as a phone that is already logged in does it
// (Settings → Devices → Link Desktop Device): `gramfarm testdc scan <tg://login?token=…> --as <phone>`. The
// "phone" logs in to the test DC first — a test number's code is its DC digit five times, or --code — then
// accepts the token with auth.acceptLoginToken.
import { Client } from '../auth/client.ts'
import { RpcError } from '../mtproto/rpc-error.ts'
import { clientOptionsFor, type TestDcEndpoint } from '../testdc/testdc-endpoint.ts'
import { loginTokenOf } from './qr-scan-device.ts'

export interface QrScanRequest {
  readonly endpoint: TestDcEndpoint
  /** What the QR code says: tg://login?token=<base64url>. */
  readonly url: string
  /** The account that scans (digits, + and blanks allowed). */
  readonly phone: string
  /** Its login code; a test number's (99966 X YYYY → X five times) when absent. */
  readonly code?: string
  /** Asked only when the account turns out to have 2FA. */
  readonly password?: () => Promise<string>
}

/** Why a scan did not log anyone in (the CLI reports it with exit 1 or 2). */
export class QrScanError extends Error {
  override readonly name = 'QrScanError'
  constructor(
    readonly reason: 'not_a_login_url' | 'no_code' | 'token_refused',
    message: string,
  ) {
    super(message)
  }
}

/** The test-number rule (core.telegram.org/api/auth#test-accounts): 99966 X YYYY gets the code XXXXX. */
export function testNumberCode(phone: string): string | undefined {
  const m = /^99966(\d)\d{4}$/.exec(phone)
  return m ? m[1]!.repeat(5) : undefined
}

/** Logs `phone` in to the test DC and accepts the QR login token of `url`; resolves with the scanning user's id. */
export async function scanQrLogin(req: QrScanRequest): Promise<{ userId: bigint }> {
  const token = loginTokenOf(req.url.trim())
  if (!token)
    throw new QrScanError(
      'not_a_login_url',
      'not a QR login URL: expected tg://login?token=<base64url> (what `gramfarm qr` prints)',
    )
  const phone = req.phone.replace(/[\s+()-]/g, '')
  const code = req.code ?? testNumberCode(phone)
  if (code === undefined)
    throw new QrScanError('no_code', `${phone} is not a test number (99966 X YYYY): give its login code with --code`)
  const client = new Client(`qr-scan-${phone}`, {
    apiId: 2040,
    apiHash: '0123456789abcdef0123456789abcdef',
    inMemory: true,
    phoneNumber: phone,
    phoneCode: code,
    ...(req.password ? { password: req.password } : {}),
    deviceModel: 'Pixel 8',
    systemVersion: 'Android 14',
    appVersion: '11.0.0',
    ...clientOptionsFor(req.endpoint),
  })
  try {
    await client.start()
    const me = await client.getMe()
    try {
      await client.invoke({ _: 'auth.acceptLoginToken', token })
    } catch (err) {
      if (err instanceof RpcError)
        throw new QrScanError(
          'token_refused',
          `the test DC refused the QR code: ${err.errorMessage} (it may have expired — QR codes last about 30 s — or the account is excluded)`,
        )
      throw err
    }
    return { userId: me.id }
  } finally {
    await client.stop().catch(() => undefined)
  }
}

// A test DC with the accounts API, and what tests usually want next to it: the codes it "sent", and
// Client options that point at it.
import { AccountRegistry, type AccountRegistryOptions, type CodeDelivery } from '../../src/testdc/accounts/index.ts'
import { startTestDc, type TestDc } from '../../src/testdc/test-dc.ts'
import type { ClientOptions } from '../../src/auth/client.ts'
import { generateRsaKeyPair, type RsaPrivateKey } from '../../src/mtproto/crypto/rsa-keys.ts'

let stockClientKey: RsaPrivateKey | undefined

/**
 * The RSA key of every accounts DC in this process: a fresh one, drawn again while its fingerprint's first hex digit
 * (as an unsigned int64) is 0. Stock mtcute 0.30 indexes keys by their 16-digit hex fingerprint but looks up the
 * server's fingerprints with toString(16), which drops a leading zero (core/utils/crypto/keys.js), so it never finds
 * such a key (1 fresh key in 16) and its login hangs; none of Telegram's keys has one. The DC serves any key.
 */
function stockClientKeyOf(): RsaPrivateKey {
  while (!stockClientKey || BigInt.asUintN(64, stockClientKey.fingerprint) >> 60n === 0n)
    stockClientKey = generateRsaKeyPair(2048)
  return stockClientKey
}

export interface AccountsDc {
  dc: TestDc
  accounts: AccountRegistry
  codes: CodeDelivery[]
  /** Resolves with the next code sent to `phone` (digits). */
  nextCode(phone: string): Promise<string>
  clientOptions(extra?: Partial<ClientOptions>): ClientOptions
  stop(): Promise<void>
}

export async function startAccountsDc(opts: AccountRegistryOptions = {}): Promise<AccountsDc> {
  const codes: CodeDelivery[] = []
  const waiters: { phone: string; resolve(code: string): void }[] = []
  const accounts = new AccountRegistry({
    ...opts,
    onCode: (d) => {
      codes.push(d)
      opts.onCode?.(d)
      const i = waiters.findIndex((w) => w.phone === d.phone)
      if (i >= 0) waiters.splice(i, 1)[0]!.resolve(d.code)
    },
  })
  const dc = await startTestDc({ accounts, rsaKey: stockClientKeyOf() })
  return {
    dc,
    accounts,
    codes,
    nextCode: (phone) => new Promise((resolve) => waiters.push({ phone: phone.replace(/\D/g, ''), resolve })),
    clientOptions: (extra = {}) => ({
      apiId: 2040,
      apiHash: 'b18441a1ff607e10a989891a5462e627',
      testMode: true,
      dcs: dc.dcs,
      rsaKeys: [dc.publicKey],
      inMemory: true,
      ...extra,
    }),
    stop: () => dc.stop(),
  }
}

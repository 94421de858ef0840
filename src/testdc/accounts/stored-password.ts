// A 2FA password as Telegram's server keeps it: the SRP algo (salt1, salt2, g, p) and the verifier v = g^x mod p,
// never the password itself. Seeding from a plain password defers the PBKDF2 step (~70 ms) to first use, off
// the event loop, so loading many accounts stays fast.
import type { tl } from '../../mtproto/tl/index.ts'
import { TELEGRAM_DH_PRIME } from '../../mtproto/crypto/dh.ts'
import { randomBytes, type RandomSource } from '../../mtproto/crypto/random.ts'
import { concatBytes } from '../../mtproto/crypto/bytes.ts'
import { srpPasswordHashAsync, srpVerifier, type SrpAlgo } from '../../mtproto/crypto/srp.ts'

/** g of Telegram's SRP group; valid for TELEGRAM_DH_PRIME since p mod 24 = 11 (docs/protocol.md#key-exchange). */
const SRP_G = 3
/** Server part of salt1 in account.password.new_algo (clients append 32 bytes of their own, docs/protocol.md#2fa-and-srp). */
const SERVER_SALT1_BYTES = 8
/** Client part appended to salt1 when a password is set (docs/protocol.md#2fa-and-srp). */
const CLIENT_SALT1_BYTES = 32
const SALT2_BYTES = 16
/** account.password.secure_random: entropy the client may mix into its own (size as Telegram sends). */
const SECURE_RANDOM_BYTES = 256
const SECURE_SALT_BYTES = 8

export interface PasswordSpec {
  password: string
  hint?: string
  /** An address for auth.requestPasswordRecovery; without it recovery answers PASSWORD_RECOVERY_NA. */
  recoveryEmail?: string
}

export class StoredPassword {
  private memo: Promise<Uint8Array> | undefined

  private constructor(
    readonly algo: SrpAlgo,
    // A closure, not a field holding the password: inspect() and JSON never show it.
    private readonly computeVerifier: () => Promise<Uint8Array>,
    readonly hint: string | null,
    readonly recoveryEmail: string | null,
  ) {}

  /** A new password with fresh salts, as a client setting it with account.updatePasswordSettings would make it. */
  static fromPassword(spec: PasswordSpec, random: RandomSource = randomBytes): StoredPassword {
    const algo = newSrpAlgo(random)
    const full: SrpAlgo = { ...algo, salt1: concatBytes(algo.salt1, random(CLIENT_SALT1_BYTES)) }
    const password = spec.password
    return new StoredPassword(
      full,
      async () => srpVerifier(full, await srpPasswordHashAsync(password, full)),
      spec.hint ?? null,
      spec.recoveryEmail ?? null,
    )
  }

  /** A password given as the client sends it (passwordInputSettings: new_algo + new_password_hash = v). */
  static fromVerifier(
    algo: SrpAlgo,
    verifier: Uint8Array,
    hint: string | null,
    recoveryEmail: string | null,
  ): StoredPassword {
    return new StoredPassword(algo, () => Promise.resolve(verifier), hint, recoveryEmail)
  }

  /** The same password with another recovery email (account.confirmPasswordEmail); null removes it. */
  withRecoveryEmail(email: string | null): StoredPassword {
    return new StoredPassword(this.algo, () => this.verifier(), this.hint, email)
  }

  /** v = g^x mod p, 256 bytes. */
  verifier(): Promise<Uint8Array> {
    return (this.memo ??= this.computeVerifier())
  }

  /** The algo as passwordKdfAlgo…ModPow. */
  toTl(): tl.RawPasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow {
    return tlAlgo(this.algo)
  }
}

/** Fresh server salts for account.password.new_algo. */
export function newSrpAlgo(random: RandomSource = randomBytes): SrpAlgo {
  return { salt1: random(SERVER_SALT1_BYTES), salt2: random(SALT2_BYTES), g: SRP_G, p: TELEGRAM_DH_PRIME }
}

export function tlAlgo(algo: SrpAlgo): tl.RawPasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow {
  return {
    _: 'passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow',
    salt1: algo.salt1,
    salt2: algo.salt2,
    g: algo.g,
    p: algo.p,
  }
}

/** new_secure_algo and secure_random of account.password (Telegram Passport; unused by the test DC otherwise). */
export function secureAlgoFields(random: RandomSource = randomBytes): {
  newSecureAlgo: tl.RawSecurePasswordKdfAlgoPBKDF2HMACSHA512iter100000
  secureRandom: Uint8Array
} {
  return {
    newSecureAlgo: { _: 'securePasswordKdfAlgoPBKDF2HMACSHA512iter100000', salt: random(SECURE_SALT_BYTES) },
    secureRandom: random(SECURE_RANDOM_BYTES),
  }
}

/** "a***@example.com": what auth.passwordRecovery shows of the recovery address. */
export function emailPattern(email: string): string {
  const at = email.indexOf('@')
  if (at <= 0) return '***'
  return email[0] + '*'.repeat(Math.max(3, at - 1)) + email.slice(at)
}

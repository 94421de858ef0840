// Login by phone: auth.sendCode (following PHONE_MIGRATE/NETWORK_MIGRATE to the phone's DC) → the code
// (a value, a callback, or a prompt) → auth.signIn, with PHONE_CODE_INVALID retried up to a cap (a code
// that was already refused is never sent again), PHONE_CODE_EXPIRED answered by auth.resendCode,
// SESSION_PASSWORD_NEEDED handed to the 2FA check, and sign-up with the terms of service when needed.
import { RpcError } from '../../mtproto/rpc-error.ts'
import type { TlValue, tl } from '../../mtproto/tl/index.ts'
import { LoginError } from '../auth-errors.ts'
import {
  provide,
  codeTypeName,
  type CodeContext,
  type PasswordContext,
  type PhoneContext,
  type Provider,
} from '../credential-provider.ts'
import { checkPassword } from './password-check.ts'
import type { Authorization, LoginHost } from './login-host.ts'

/** A sent login code, as the Client and the farm's login steps report it (farms publish it to their code provider). */
export interface CodeSentInfo {
  phoneNumber: string
  codeType: string
  codeLength: number | undefined
  phoneCodeHash: string
  attempt: number
}

export interface SignUpDetails {
  firstName: string
  lastName?: string
}

export interface PhoneLoginOptions {
  phoneNumber: Provider<string, PhoneContext> | undefined
  phoneCode: Provider<string, CodeContext> | undefined
  password: Provider<string, PasswordContext> | undefined
  recoveryCode?: Provider<string, { emailPattern: string }>
  /** Sign-up details for a phone without an account; absent: prompt on a terminal, or fail with signup_needed. */
  signUp?: Provider<SignUpDetails, { phoneNumber: string; termsOfService: string | undefined }>
  maxCodeAttempts: number
  maxPasswordAttempts: number
  /** Called with every sent code's type (farms publish it to their code provider). */
  onCodeSent?(info: CodeSentInfo): void | Promise<void>
}

const MIGRATE_ON_SEND_CODE = ['PHONE_MIGRATE', 'NETWORK_MIGRATE', 'USER_MIGRATE']

type SentCode = tl.auth.RawSentCode

function mapSendCodeError(err: unknown): never {
  if (err instanceof RpcError) {
    if (err.is('PHONE_NUMBER_INVALID'))
      throw new LoginError('phone_invalid', 'Telegram says the phone number is invalid', err)
    if (err.is('PHONE_NUMBER_BANNED')) throw new LoginError('phone_banned', 'the phone number is banned', err)
    if (err.is('SEND_CODE_UNAVAILABLE'))
      throw new LoginError('code_unavailable', 'every code delivery channel was used', err)
  }
  throw err
}

export async function sendCode(host: LoginHost, phoneNumber: string): Promise<SentCode | tl.auth.RawSentCodeSuccess> {
  const request: TlValue = {
    _: 'auth.sendCode',
    phoneNumber,
    apiId: host.apiId,
    apiHash: host.apiHash,
    settings: { _: 'codeSettings', allowFlashcall: false, currentNumber: false, allowAppHash: false },
  }
  for (let hop = 0; hop < 3; hop++) {
    try {
      return await host.invoke<SentCode | tl.auth.RawSentCodeSuccess>(request)
    } catch (err) {
      if (
        err instanceof RpcError &&
        err.isMigrate &&
        MIGRATE_ON_SEND_CODE.includes(err.kind) &&
        err.dcId !== host.homeDc()
      ) {
        host.switchHomeDc(err.dcId!)
        continue
      }
      mapSendCodeError(err)
    }
  }
  throw new LoginError('phone_invalid', 'auth.sendCode kept being redirected between DCs')
}

/** auth.resendCode; when the hash itself has expired too, a fresh auth.sendCode. */
export async function resendOrSendAgain(
  host: LoginHost,
  phoneNumber: string,
  phoneCodeHash: string,
): Promise<SentCode | tl.auth.RawSentCodeSuccess> {
  try {
    return await host.invoke<SentCode | tl.auth.RawSentCodeSuccess>({
      _: 'auth.resendCode',
      phoneNumber,
      phoneCodeHash,
    })
  } catch (err) {
    if (err instanceof RpcError && (err.is('PHONE_CODE_EXPIRED') || err.is('PHONE_CODE_HASH_EMPTY')))
      return sendCode(host, phoneNumber)
    return mapSendCodeError(err)
  }
}

export async function phoneLogin(host: LoginHost, opts: PhoneLoginOptions): Promise<Authorization> {
  const phoneNumber = String(
    await provide(opts.phoneNumber, { attempt: 1 }, 'phoneNumber', 'Enter phone number: '),
  ).replace(/[\s()-]/g, '')
  const first = await sendCode(host, phoneNumber)
  if (first._ === 'auth.sentCodeSuccess') return first.authorization as Authorization
  let sent: SentCode = first
  const refused = new Set<string>()
  let previous: CodeContext['previous']
  let attempt = 0
  let codeRound = 1
  await opts.onCodeSent?.({
    phoneNumber,
    codeType: codeTypeName(sent.type._) ?? 'unknown',
    codeLength: (sent.type as { length?: number }).length,
    phoneCodeHash: sent.phoneCodeHash,
    attempt: codeRound,
  })
  for (;;) {
    attempt++
    const ctx: CodeContext = {
      phoneNumber,
      attempt,
      codeType: codeTypeName(sent.type._) ?? 'unknown',
      codeLength: (sent.type as { length?: number }).length,
      nextType: codeTypeName(sent.nextType?._),
      timeout: sent.timeout,
      previous,
    }
    const code = String(
      await provide(opts.phoneCode, ctx, 'phoneCode', `Enter the code (${ctx.codeType}) sent to ${phoneNumber}: `),
    ).trim()
    if (refused.has(code)) {
      // The same wrong code again (a slow provider, a stale SMS): never send it twice.
      if (attempt >= opts.maxCodeAttempts) throw new LoginError('code_invalid', `no new code after ${attempt} attempts`)
      previous = 'repeated'
      continue
    }
    let result: Authorization | tl.auth.RawAuthorizationSignUpRequired
    try {
      result = await host.invoke({ _: 'auth.signIn', phoneNumber, phoneCodeHash: sent.phoneCodeHash, phoneCode: code })
    } catch (err) {
      if (!(err instanceof RpcError)) throw err
      if (err.is('PHONE_CODE_INVALID') || err.is('PHONE_CODE_EMPTY')) {
        refused.add(code)
        if (attempt >= opts.maxCodeAttempts) throw new LoginError('code_invalid', `wrong code ${attempt} times`, err)
        previous = 'invalid'
        continue
      }
      if (err.is('PHONE_CODE_EXPIRED')) {
        if (attempt >= opts.maxCodeAttempts) throw new LoginError('code_expired', 'the code expired', err)
        const next = await resendOrSendAgain(host, phoneNumber, sent.phoneCodeHash)
        if (next._ === 'auth.sentCodeSuccess') return next.authorization as Authorization
        sent = next
        codeRound++
        refused.clear()
        previous = 'expired'
        await opts.onCodeSent?.({
          phoneNumber,
          codeType: codeTypeName(sent.type._) ?? 'unknown',
          codeLength: (sent.type as { length?: number }).length,
          phoneCodeHash: sent.phoneCodeHash,
          attempt: codeRound,
        })
        continue
      }
      if (err.is('SESSION_PASSWORD_NEEDED')) {
        return checkPassword(host, {
          password: opts.password,
          ...(opts.recoveryCode ? { recoveryCode: opts.recoveryCode } : {}),
          maxAttempts: opts.maxPasswordAttempts,
          phoneNumber,
        })
      }
      throw err
    }
    if (result._ === 'auth.authorizationSignUpRequired')
      return signUp(host, opts, phoneNumber, sent.phoneCodeHash, result)
    return result
  }
}

async function signUp(
  host: LoginHost,
  opts: PhoneLoginOptions,
  phoneNumber: string,
  phoneCodeHash: string,
  required: tl.auth.RawAuthorizationSignUpRequired,
): Promise<Authorization> {
  const tos = required.termsOfService
  let details: SignUpDetails
  if (opts.signUp !== undefined) {
    details =
      typeof opts.signUp === 'function' ? await opts.signUp({ phoneNumber, termsOfService: tos?.text }) : opts.signUp
  } else if (process.stdin.isTTY) {
    if (tos) process.stdout.write(`\nTerms of service:\n${tos.text}\n\n`)
    const firstName = String(await provide(undefined, {}, 'firstName', 'First name: '))
    const lastName = String(await provide(undefined, {}, 'firstName', 'Last name (optional): '))
    details = { firstName, lastName }
  } else {
    throw new LoginError('signup_needed', `${phoneNumber} has no Telegram account and no sign-up details were given`)
  }
  const auth = await host.invoke<Authorization>({
    _: 'auth.signUp',
    phoneNumber,
    phoneCodeHash,
    firstName: details.firstName,
    lastName: details.lastName ?? '',
  })
  // Accepting the terms is part of signing up (Telegram asks clients to show them and accept).
  if (tos) await host.invoke({ _: 'help.acceptTermsOfService', id: tos.id }).catch(() => undefined)
  return auth
}

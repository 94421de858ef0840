// Credentials come as values, async callbacks, or — only on a terminal and only when nothing was given —
// prompts. A pipe never hangs on a prompt: it gets a MissingCredentialError.
import { createInterface } from 'node:readline'
import { Writable } from 'node:stream'
import { MissingCredentialError } from './auth-errors.ts'

/** A credential: a value, or a function of what the flow knows at that point. */
export type Provider<T, C> = T | ((ctx: C) => T | Promise<T>)

export interface PhoneContext {
  attempt: number
}

/** The auth.SentCodeType names known today, by their TL name without `auth.sentCodeType`, first letter lowered. */
export type KnownCodeType =
  | 'app'
  | 'sms'
  | 'smsWord'
  | 'smsPhrase'
  | 'call'
  | 'flashCall'
  | 'missedCall'
  | 'fragmentSms'
  | 'firebaseSms'
  | 'emailCode'
  | 'setUpEmailRequired'

/** auth.SentCodeType (or auth.CodeType) without the prefix, as Telegram sent it: a known one, or any newer name. */
export type CodeType = KnownCodeType | (string & {})

export interface CodeContext {
  phoneNumber: string
  /** 1 for the first code asked for this login, then 2, 3… */
  attempt: number
  codeType: CodeType
  /** Digits of the code, when Telegram says. */
  codeLength: number | undefined
  /** What auth.resendCode would switch to, if anything. */
  nextType: CodeType | undefined
  /** Seconds before a resend is allowed. */
  timeout: number | undefined
  /** Why we ask again: the previous code was rejected or expired. */
  previous: 'invalid' | 'expired' | 'repeated' | undefined
}

export interface PasswordContext {
  phoneNumber: string | undefined
  attempt: number
  hint: string | undefined
  previous: 'invalid' | undefined
}

export async function provide<T, C>(
  provider: Provider<T, C> | undefined,
  ctx: C,
  credential: MissingCredentialError['credential'],
  prompt: string,
  secret = false,
): Promise<T | string> {
  if (provider !== undefined)
    return typeof provider === 'function' ? (provider as (c: C) => T | Promise<T>)(ctx) : provider
  if (!process.stdin.isTTY) throw new MissingCredentialError(credential)
  return ask(prompt, secret)
}

/** One line from the terminal; `secret` keeps the answer off the screen. */
export function ask(question: string, secret = false): Promise<string> {
  let muted = false
  const output = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (!muted) process.stdout.write(chunk)
      done()
    },
  })
  const rl = createInterface({ input: process.stdin, output, terminal: true })
  return new Promise((resolve) => {
    rl.question(question, (answer) => {
      rl.close()
      if (secret) process.stdout.write('\n')
      resolve(answer.trim())
    })
    muted = secret
  })
}

/** `auth.sentCodeTypeSms` → `sms`; `auth.codeTypeFlashCall` → `flashCall`. */
export function codeTypeName(tlName: string | undefined): CodeType | undefined {
  if (!tlName) return undefined
  const short = tlName.replace(/^auth\.(sentCodeType|codeType)/, '')
  return short.charAt(0).toLowerCase() + short.slice(1)
}

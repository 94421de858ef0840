// What one line (or object) of an accounts file asks the farm to log in.
import type { ProxyConfig } from '../../mtproto/transport/transport-connection.ts'

export type AccountsFileFormat = 'phones' | 'bots' | 'csv' | 'json'

export interface AccountSource {
  readonly file: string
  /** 1-based line where the account starts. */
  readonly line: number
}

/** Per-account client identity; anything absent comes from the farm's defaults. */
export interface ClientIdentity {
  readonly apiId?: number
  readonly apiHash?: string
  readonly deviceModel?: string
  readonly systemVersion?: string
  readonly appVersion?: string
  readonly langCode?: string
  readonly systemLangCode?: string
}

interface AccountCommon {
  readonly source: AccountSource
  readonly proxy?: ProxyConfig
  readonly identity?: ClientIdentity
}

export interface UserAccountSpec extends AccountCommon {
  readonly kind: 'user'
  /** E.164 digits, no `+`. */
  readonly phone: string
  /** 2FA password, when the account has one. */
  readonly password?: string
}

export interface BotAccountSpec extends AccountCommon {
  readonly kind: 'bot'
  readonly token: string
}

export interface QrAccountSpec extends AccountCommon {
  readonly kind: 'qr'
  /** Operator's name for the slot (unique in the file when given). */
  readonly label?: string
  /** 2FA password, if the account that scans turns out to have one. */
  readonly password?: string
}

export type AccountSpec = UserAccountSpec | BotAccountSpec | QrAccountSpec

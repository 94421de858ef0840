// Errors Telegram returns for a call (rpc_error), typed: the code, the message, and the number inside
// messages like FLOOD_WAIT_30 or PHONE_MIGRATE_4 already parsed.
import { MtprotoError } from './mtproto-error.ts'

/** Messages whose trailing number is a count of seconds. */
const SECONDS_ERRORS =
  /^(FLOOD_WAIT|FLOOD_PREMIUM_WAIT|SLOWMODE_WAIT|TAKEOUT_INIT_DELAY|FLOOD_TEST_PHONE_WAIT|PASSWORD_TOO_FRESH|SESSION_TOO_FRESH)_(\d+)$/
/** Messages whose trailing number is a DC id (303 See Other). */
const MIGRATE_ERRORS = /^(PHONE_MIGRATE|NETWORK_MIGRATE|USER_MIGRATE|FILE_MIGRATE|STATS_MIGRATE)_(\d+)$/

export class RpcError extends MtprotoError {
  override readonly name = 'RpcError'
  /** Seconds to wait, for FLOOD_WAIT_X and its kin. */
  readonly seconds: number | undefined
  /** The DC to go to, for *_MIGRATE_X. */
  readonly dcId: number | undefined
  /** The message without its number: `FLOOD_WAIT_30` → `FLOOD_WAIT`. */
  readonly kind: string

  constructor(
    /** 303, 400, 401, 403, 406, 420, 500… (negative codes come from the transport, see TransportError). */
    readonly code: number,
    /** Telegram's error message, e.g. `PHONE_CODE_INVALID`. */
    readonly errorMessage: string,
    /** The method that failed, when known. */
    readonly method?: string,
  ) {
    super(`${code} ${errorMessage}${method ? ` (in ${method})` : ''}`)
    const seconds = SECONDS_ERRORS.exec(errorMessage)
    const migrate = MIGRATE_ERRORS.exec(errorMessage)
    this.seconds = seconds ? Number(seconds[2]) : undefined
    this.dcId = migrate ? Number(migrate[2]) : undefined
    this.kind = seconds?.[1] ?? migrate?.[1] ?? errorMessage
  }

  /** Telegram's own trouble (500 INTERNAL, -503 Timeout, RPC_CALL_FAIL…): the same call may work later. */
  override get transient(): boolean {
    return (
      this.code >= 500 ||
      this.code === -500 ||
      this.code === -503 ||
      this.is('RPC_CALL_FAIL') ||
      this.is('RPC_MCGET_FAIL')
    )
  }

  is(message: string): boolean {
    return this.errorMessage === message || this.kind === message
  }

  get isFloodWait(): boolean {
    return this.code === 420 && this.seconds !== undefined
  }

  get isMigrate(): boolean {
    return this.code === 303 && this.dcId !== undefined
  }
}

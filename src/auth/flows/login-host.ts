// What the login flows need from the Client: calls on the account's DC, switching that DC (303 errors,
// QR migration), and updates (QR's updateLoginToken). Keeping it an interface keeps the flows small.
import type { TlValue, tl } from '../../mtproto/tl/index.ts'

export interface LoginHost {
  readonly apiId: number
  readonly apiHash: string
  homeDc(): number
  invoke<R>(request: TlValue, opts?: { dcId?: number; signal?: AbortSignal }): Promise<R>
  /** Moves the account to another DC; a new auth key is made there on the next call. */
  switchHomeDc(dcId: number): void
  /** Resolves on the next update matching `predicate` (or rejects on abort). */
  nextUpdate(predicate: (u: TlValue) => boolean, signal: AbortSignal): Promise<TlValue>
}

export type Authorization = tl.auth.RawAuthorization

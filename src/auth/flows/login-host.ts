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

/** The pieces of a protocol client a LoginHost is made of (the Client and the farm's workers both use it). */
export interface LoginHostParts {
  apiId: number
  apiHash: string
  mtproto: { homeDc: number; invoke<R>(request: TlValue, opts?: { dcId?: number; signal?: AbortSignal }): Promise<R> }
  /** Persists a new home DC (the session's dc_id). */
  onHomeDc(dcId: number): void
  nextUpdate?: LoginHost['nextUpdate']
}

export function loginHostOf(parts: LoginHostParts): LoginHost {
  return {
    apiId: parts.apiId,
    apiHash: parts.apiHash,
    homeDc: () => parts.mtproto.homeDc,
    invoke: (request, opts) => parts.mtproto.invoke(request, opts),
    switchHomeDc: (dcId) => {
      parts.mtproto.homeDc = dcId
      parts.onHomeDc(dcId)
    },
    nextUpdate:
      parts.nextUpdate ??
      ((_predicate, signal) =>
        new Promise<TlValue>((_resolve, reject) => {
          signal.addEventListener(
            'abort',
            () => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted')),
            { once: true },
          )
        })),
  }
}

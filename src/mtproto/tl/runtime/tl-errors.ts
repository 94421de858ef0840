// Typed errors of the TL codec. A hostile or broken buffer must end in one of these, never in a RangeError,
// a hang, or an allocation sized by an attacker.
import { MtprotoError } from '../../mtproto-error.ts'

export type TlDecodeFailure =
  | 'truncated' // a read past the end of the buffer
  | 'bad-length' // a length prefix that points past the end
  | 'unknown-constructor' // an id that is not a constructor of the expected type
  | 'vector-too-long' // a vector count that cannot fit in what is left of the buffer
  | 'too-deep' // objects nested deeper than MAX_DEPTH
  | 'bad-bool' // neither boolTrue nor boolFalse
  | 'bad-gzip' // gzip_packed that does not inflate, or inflates past the cap
  | 'trailing-bytes' // bytes left after a whole object was read

export class TlDecodeError extends MtprotoError {
  override readonly name = 'TlDecodeError'
  constructor(
    readonly reason: TlDecodeFailure,
    /** Byte offset in the buffer being read where the failure was found. */
    readonly offset: number,
    detail: string,
  ) {
    super(`TL decode failed (${reason}) at offset ${offset}: ${detail}`)
  }
}

export class TlEncodeError extends MtprotoError {
  override readonly name = 'TlEncodeError'
  constructor(
    /** The constructor being written, e.g. `auth.sendCode`. */
    readonly constructorName: string,
    detail: string,
  ) {
    super(`TL encode failed for ${constructorName}: ${detail}`)
  }
}

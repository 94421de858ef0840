// How a test-DC handler answers with an error: throw an RpcFailure and the dispatcher sends rpc_error.
import { TlDecodeError } from '../mtproto/tl/index.ts'
export class RpcFailure extends Error {
  override readonly name = 'RpcFailure'
  constructor(
    readonly code: number,
    readonly errorMessage: string,
  ) {
    super(`${code} ${errorMessage}`)
  }
}

export const unauthorized = (): RpcFailure => new RpcFailure(401, 'AUTH_KEY_UNREGISTERED')

/**
 * The answer to a request the DC cannot decode, as Telegram answers (error names from Telegram's error database as
 * mtcute ships it, @mtcute/tl raw-errors.json): an unknown method id gets INPUT_METHOD_INVALID_<id>_<n> (listed there
 * as e.g. INPUT_METHOD_INVALID_1604042050_X; the meaning of the last number is not published, we send 0), an unknown
 * constructor inside the request INPUT_CONSTRUCTOR_INVALID, bytes after the request or gzip_packed inflating past the
 * packet's allowance INPUT_REQUEST_TOO_LONG, anything else (truncated, bad gzip_packed, too deep) INPUT_FETCH_ERROR.
 */
export function decodeFailure(err: unknown, requestId: number): RpcFailure {
  if (err instanceof TlDecodeError) {
    if (err.reason === 'unknown-constructor')
      return err.offset === 0 ? unknownMethodId(requestId) : new RpcFailure(400, 'INPUT_CONSTRUCTOR_INVALID')
    if (err.reason === 'trailing-bytes') return new RpcFailure(400, 'INPUT_REQUEST_TOO_LONG')
    // A gzip_packed inflating past the packet's allowance (DecodeBudget says "limit") is a request too long.
    if (err.reason === 'bad-gzip' && /limit/.test(err.message)) return new RpcFailure(400, 'INPUT_REQUEST_TOO_LONG')
  }
  return new RpcFailure(400, 'INPUT_FETCH_ERROR')
}

function unknownMethodId(id: number): RpcFailure {
  return new RpcFailure(400, `INPUT_METHOD_INVALID_${id >>> 0}_0`)
}

/** A method the test DC has no handler for is unknown to it: answered like an unknown method id. */
export function unknownMethod(encodedRequest: Uint8Array): RpcFailure {
  return unknownMethodId(new DataView(encodedRequest.buffer, encodedRequest.byteOffset, 4).getUint32(0, true))
}

// How a test-DC handler answers with an error: throw an RpcFailure and the dispatcher sends rpc_error.
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

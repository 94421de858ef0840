// An HTTP answer of the operator's server that is the client's fault: its status, a reason a program can switch
// on, and a message for people. Sent as `{"error": reason, "message": …}`.
export class OperatorHttpError extends Error {
  override readonly name = 'OperatorHttpError'
  constructor(
    readonly statusCode: number,
    readonly reason: string,
    message: string,
  ) {
    super(message)
  }
}

// Handlers typed by method: `req` and the result get the generated TL types of the method they serve.
import type { tl } from '../../mtproto/tl/index.ts'
import type { RpcContext, RpcHandler } from '../rpc-dispatcher.ts'

type Methods = tl.RpcMethods

export type MethodHandler<M extends keyof Methods> = (
  req: Methods[M]['request'],
  ctx: RpcContext,
) => Methods[M]['result'] | Promise<Methods[M]['result']>

export type MethodHandlers = { [M in keyof Methods]?: MethodHandler<M> }

/** The dispatcher's untyped map. Safe: it routes by `_`, so a handler only ever sees its own method's request. */
export function toRpcHandlers(handlers: MethodHandlers): Record<string, RpcHandler> {
  return handlers as unknown as Record<string, RpcHandler>
}

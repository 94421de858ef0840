// The layer the test DC speaks with one client, as Telegram does: requests are read in the bundled layer nearest
// below the one the client announced (the newest above the newest) and converted by constructor name into the
// DC's own layer (the pinned one its handlers are written in); answers go the other way. Below the oldest bundled
// layer there is none: the DC refuses the client's calls with CONNECTION_LAYER_INVALID.
import {
  API_LAYER,
  tlCodec,
  codecForLayerSync,
  layerSchema,
  servedLayer,
  LayerConverter,
  type TlCodec,
  type TlValue,
} from '../mtproto/tl/index.ts'

export class ClientLayer {
  private constructor(
    /** The bundled layer the client is served in. */
    readonly served: number,
    readonly codec: TlCodec,
    private readonly up: LayerConverter | null,
    private readonly down: LayerConverter | null,
  ) {}

  /** The DC's own layer: no conversion. */
  static readonly internal = new ClientLayer(API_LAYER, tlCodec, null, null)

  /** One per served layer: bounded by the bundled layers, whatever numbers clients announce. */
  private static readonly cache = new Map<number, ClientLayer>([[API_LAYER, ClientLayer.internal]])

  /** The layer a client announcing `announced` is served in; null when it is older than every bundled layer. */
  static forAnnounced(announced: number): ClientLayer | null {
    const served = servedLayer(announced)
    if (served === null) return null
    let cl = ClientLayer.cache.get(served)
    if (!cl) {
      cl = new ClientLayer(
        served,
        codecForLayerSync(served),
        new LayerConverter(layerSchema(API_LAYER)),
        new LayerConverter(layerSchema(served)),
      )
      ClientLayer.cache.set(served, cl)
    }
    return cl
  }

  /** A request decoded in the client's layer, in the DC's own layer's form. */
  request(req: TlValue): TlValue {
    return this.up ? this.up.request(req) : req
  }

  /** The result of `request` (in the DC's form) in the client's layer's form. */
  result(request: TlValue, result: unknown): unknown {
    if (!this.down) return result
    const inner = this.codec.innerRequest(request)
    return this.down.result(inner._, result)
  }

  /** An object sent outside rpc_result (a pushed update) in the client's layer's form. */
  object(obj: TlValue): TlValue {
    return this.down ? this.down.object(obj) : obj
  }
}

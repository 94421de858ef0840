// The TL layer of gramfarm: the pinned API layer's types and codec, MTProto service types, and codecs of
// other layers on demand (the test DC answers clients in the layer they announce).
import * as mtprotoModule from './generated/mtproto/codec.ts'
import * as apiModule from './generated/api223/codec.ts'
import { TlCodec, type TlCodecModule } from './tl-codec.ts'

export { TlCodec, type TlCodecModule } from './tl-codec.ts'
export { TlReader, type TlDecoder } from './runtime/tl-reader.ts'
export { TlWriter, type TlEncoder } from './runtime/tl-writer.ts'
export { TlDecodeError, TlEncodeError, type TlDecodeFailure } from './runtime/tl-errors.ts'
export { DecodeBudget, MAX_PACKET_INFLATED_BYTES, MAX_PACKING_DEPTH, type DecodeLimits } from './runtime/decode-budget.ts'
export type { TlValue } from './runtime/tl-value.ts'
export type { tl } from './generated/api223/types.ts'
export type { mt } from './generated/mtproto/types.ts'

/** The API layer gramfarm speaks. */
export const API_LAYER = apiModule.LAYER as number

/** The codec of the pinned layer plus the MTProto service schema; one per process is enough. */
export const tlCodec = new TlCodec(mtprotoModule, apiModule)

/** Layers with a generated codec besides the pinned one. */
export const OTHER_LAYERS = [198] as const

const layerCodecs = new Map<number, Promise<TlCodec>>([[API_LAYER, Promise.resolve(tlCodec)]])

/** The codec of a layer (loaded on first use: each layer's code is ~2 MB). */
export function codecForLayer(layer: number): Promise<TlCodec> {
  let codec = layerCodecs.get(layer)
  if (!codec) {
    if (!(OTHER_LAYERS as readonly number[]).includes(layer)) return Promise.reject(new Error(`no codec for layer ${layer}`))
    codec = (import(`./generated/api${layer}/codec.ts`) as Promise<TlCodecModule>).then((m) => new TlCodec(mtprotoModule, m))
    layerCodecs.set(layer, codec)
  }
  return codec
}

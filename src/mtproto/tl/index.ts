// The TL layer of gramfarm: the pinned API layer's types and codec, MTProto service types, and codecs of
// other layers on demand (the test DC answers clients in the layer they announce).
import * as mtprotoModule from './generated/mtproto/codec.ts'
import * as apiModule from './generated/api223/codec.ts'
import { TlCodec } from './tl-codec.ts'
import { API_LAYERS_LEDGER } from './generated/api-layers.ts'
import { parseLedger, ledgerSchemaText, LayerLedgerError, type LayerLedger } from './layer-ledger.ts'
import { parseTlSchema } from './schema/tl-schema-parser.ts'
import { schemaCodecModule, SchemaIndex } from './schema-codec.ts'

export { TlCodec, type TlCodecModule } from './tl-codec.ts'
export { TlReader, type TlDecoder } from './runtime/tl-reader.ts'
export { TlWriter, type TlEncoder } from './runtime/tl-writer.ts'
export { TlDecodeError, TlEncodeError, type TlDecodeFailure } from './runtime/tl-errors.ts'
export {
  DecodeBudget,
  MAX_PACKET_INFLATED_BYTES,
  MAX_PACKING_DEPTH,
  type DecodeLimits,
} from './runtime/decode-budget.ts'
export type { TlValue } from './runtime/tl-value.ts'
export type { tl } from './generated/api223/types.ts'
export type { mt } from './generated/mtproto/types.ts'
export { ID, type TlName } from './generated/ids.ts'
export { SchemaIndex } from './schema-codec.ts'
export { LayerConverter, LayerConversionError } from './layer-conversion.ts'
export { LayerLedgerError } from './layer-ledger.ts'

/** The API layer gramfarm speaks. */
export const API_LAYER = apiModule.LAYER as number

/** The codec of the pinned layer plus the MTProto service schema; one per process is enough. */
export const tlCodec = new TlCodec(mtprotoModule, apiModule)

/** The bundled layers (ascending): exact schemas the test DC can serve; see layer-ledger.ts. */
export const BUNDLED_LAYERS: readonly number[] = bundledLayers()

/**
 * The bundled layer a client announcing `layer` is served in: the same layer when bundled, else the nearest
 * bundled one below it, the newest above the newest; null below the oldest (CONNECTION_LAYER_INVALID).
 */
export function servedLayer(layer: number): number | null {
  let served: number | null = null
  for (const l of BUNDLED_LAYERS) if (l <= layer) served = l
  return served
}

const layerCodecs = new Map<number, TlCodec>([[API_LAYER, tlCodec]])
const layerSchemas = new Map<number, SchemaIndex>()

/** The parsed schema of a bundled layer (the pinned one included). */
export function layerSchema(layer: number): SchemaIndex {
  let index = layerSchemas.get(layer)
  if (!index) {
    index = new SchemaIndex(parseTlSchema(ledgerSchemaText(ledger(), layer)))
    layerSchemas.set(layer, index)
  }
  return index
}

/**
 * The codec of a bundled layer: the generated one for the pinned layer, else one built from the layer's
 * schema on first use (a few ms). Rejects a layer that is not bundled (see servedLayer).
 */
export function codecForLayer(layer: number): Promise<TlCodec> {
  try {
    return Promise.resolve(codecForLayerSync(layer))
  } catch (err) {
    return Promise.reject(err)
  }
}

export function codecForLayerSync(layer: number): TlCodec {
  let codec = layerCodecs.get(layer)
  if (!codec) {
    if (!BUNDLED_LAYERS.includes(layer)) throw new LayerLedgerError(`no codec for layer ${layer}: not bundled`)
    codec = new TlCodec(mtprotoModule, schemaCodecModule(layerSchema(layer).schema))
    layerCodecs.set(layer, codec)
  }
  return codec
}

let parsedLedger: LayerLedger | undefined
function ledger(): LayerLedger {
  return (parsedLedger ??= parseLedger(API_LAYERS_LEDGER))
}

function bundledLayers(): number[] {
  // Only the header is read here; the lines are parsed when a layer is first asked for.
  const m = /^\/\/! layers (.+)$/m.exec(API_LAYERS_LEDGER)
  return m ? m[1]!.trim().split(/\s+/).map(Number) : [API_LAYER]
}

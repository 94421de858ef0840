/**
 * Padded intermediate framing (tag dddddddd): intermediate plus 0–15 random bytes after each payload, counted in the
 * length. Required by `dd` MTProxy secrets.
 *
 * The receiver cannot tell padding from payload, so decoders hand up the whole frame (payload + padding). The MTProto
 * layer must use its own lengths: for an unencrypted message 20 + message_data_length bytes; for an encrypted one
 * auth_key_id (8) + msg_key (16) + the largest multiple of 16 that fits in the rest.
 */
import type { Framing } from './framing.ts'
import {
  IntermediateClientDecoder,
  IntermediateClientEncoder,
  IntermediateServerDecoder,
  IntermediateServerEncoder,
  PADDED_INTERMEDIATE_TAG,
} from './intermediate.ts'

const plainTag = new Uint8Array([0xdd, 0xdd, 0xdd, 0xdd])

export const paddedIntermediate: Framing = {
  name: 'padded',
  obfuscationTag: PADDED_INTERMEDIATE_TAG,
  plainTag,
  createClientEncoder: (options) => new IntermediateClientEncoder(true, options),
  createClientDecoder: (options) => new IntermediateClientDecoder(true, options),
  createServerEncoder: (options) => new IntermediateServerEncoder(true, options),
  createServerDecoder: (options) => new IntermediateServerDecoder(options),
}

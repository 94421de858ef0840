/**
 * The framing strategy contract shared by abridged, intermediate, padded intermediate and full. Everything here is
 * sans-io: encoders turn payloads into bytes, decoders turn bytes (in any chunking) into frames and events.
 */
import type { TransportError } from './errors.ts'

export type FramingName = 'abridged' | 'intermediate' | 'padded' | 'full'

/**
 * Largest frame (payload, plus padding for padded intermediate) we accept or send. Telegram's packets stay around
 * 1 MiB (512 KiB upload parts plus overhead); 16 MiB leaves headroom and stops a hostile declared length from making us
 * buffer more than that.
 */
export const MAX_FRAME_LENGTH = 16 * 1024 * 1024

/** Bit 31 of a length word: "quick ack requested" (client→server) or "this word is a quick ack" (server→client). */
export const QUICK_ACK_BIT = 0x80000000

/** Source of random bytes (padding, obfuscation init); injectable for deterministic tests. */
export type RandomSource = (length: number) => Uint8Array

export interface EncodeOptions {
  /** Ask the server for a quick ack of this packet (sets the top bit of the length). */
  quickAck?: boolean
}

/** What a client-side decoder yields. */
export type ClientTransportEvent =
  | { readonly type: 'frame'; readonly payload: Uint8Array }
  /** Quick-ack token as sent by the server: uint32, top bit set. */
  | { readonly type: 'quickAck'; readonly token: number }
  | { readonly type: 'transportError'; readonly error: TransportError }

/** What a server-side decoder yields. */
export interface ServerFrame {
  readonly payload: Uint8Array
  /** The client asked for a quick ack of this packet. */
  readonly quickAck: boolean
}

export interface DecoderOptions {
  /** Frames declaring more than this many bytes are a protocol error. Default MAX_FRAME_LENGTH. */
  maxFrameLength?: number
}

export interface ClientEncoderOptions {
  /** Prefix the first packet with the plain protocol tag (only when not obfuscated). Default true. */
  sendTag?: boolean
  random?: RandomSource
}

export interface ServerEncoderOptions {
  random?: RandomSource
}

/**
 * Pull-based decoder: `push()` buffers bytes, `next()` yields one decoded item or undefined when more bytes are needed.
 * `next()` throws TransportProtocolError on a malformed stream, after yielding every item before the fault; the decoder
 * then stays failed.
 */
export interface FrameDecoder<E> {
  push(chunk: Uint8Array): void
  next(): E | undefined
  /** Bytes received but not yet decoded. */
  readonly buffered: number
}

export type ClientFrameDecoder = FrameDecoder<ClientTransportEvent>
export type ServerFrameDecoder = FrameDecoder<ServerFrame>

/** Client→server packets. Keeps per-connection state (the first-packet tag, full's seq counter). */
export interface ClientFrameEncoder {
  encode(payload: Uint8Array, options?: EncodeOptions): Uint8Array
}

/** Server→client packets. */
export interface ServerFrameEncoder {
  encode(payload: Uint8Array): Uint8Array
  /** A quick-ack answer; the top bit of `token` is forced on. */
  encodeQuickAck(token: number): Uint8Array
  /** A transport error packet, e.g. -404. */
  encodeTransportError(code: number): Uint8Array
}

/** One framing, as a strategy object: its tags and factories for both sides and both directions. */
export interface Framing {
  readonly name: FramingName
  /** The uint32 written at offset 56 of an obfuscated init; undefined if the framing cannot be obfuscated (full). */
  readonly obfuscationTag: number | undefined
  /** Bytes sent before the first packet of a plain (not obfuscated) connection; empty for full. */
  readonly plainTag: Uint8Array
  createClientEncoder(options?: ClientEncoderOptions): ClientFrameEncoder
  createClientDecoder(options?: DecoderOptions): ClientFrameDecoder
  createServerEncoder(options?: ServerEncoderOptions): ServerFrameEncoder
  createServerDecoder(options?: DecoderOptions): ServerFrameDecoder
}

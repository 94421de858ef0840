import { ByteQueue } from './byte-queue.ts'
import { TransportError, TransportProtocolError, TRANSPORT_ERROR_MESSAGES } from './errors.ts'
import { MAX_FRAME_LENGTH, type ClientTransportEvent, type DecoderOptions, type FrameDecoder } from './framing.ts'

/**
 * Shared mechanics of all decoders: the chunk queue, the length cap, the failed state and the stopped state (after a
 * bare transport error nothing that follows can be trusted to be framed).
 */
export abstract class FrameDecoderBase<E> implements FrameDecoder<E> {
  protected readonly queue = new ByteQueue()
  protected readonly maxFrameLength: number
  private failure: TransportProtocolError | undefined
  private stopped = false

  constructor(options: DecoderOptions = {}) {
    this.maxFrameLength = options.maxFrameLength ?? MAX_FRAME_LENGTH
  }

  get buffered(): number {
    return this.queue.length
  }

  push(chunk: Uint8Array): void {
    if (this.failure !== undefined || this.stopped) return
    this.queue.push(chunk)
  }

  next(): E | undefined {
    if (this.failure !== undefined) throw this.failure
    if (this.stopped) return undefined
    try {
      return this.decodeOne()
    } catch (error) {
      if (error instanceof TransportProtocolError) {
        this.failure = error
        this.queue.clear()
      }
      throw error
    }
  }

  /** Ignore everything from now on. */
  protected stop(): void {
    this.stopped = true
    this.queue.clear()
  }

  /** Validates a declared frame length before any byte of the frame is buffered for it. */
  protected checkLength(length: number): void {
    if (length === 0) throw new TransportProtocolError('empty-frame', 'zero-length frame')
    if (length > this.maxFrameLength) {
      throw new TransportProtocolError('frame-too-large', `declared length ${length} exceeds ${this.maxFrameLength}`)
    }
  }

  protected abstract decodeOne(): E | undefined
}

/** Length of a transport error payload: one int32. */
const TRANSPORT_ERROR_LENGTH = 4
/** Padded intermediate adds 0–15 bytes, so a padded error frame is 4–19 bytes (no MTProto packet is that short). */
const MAX_PADDED_TRANSPORT_ERROR_LENGTH = TRANSPORT_ERROR_LENGTH + 15

function readInt32LE(bytes: Uint8Array, offset: number): number {
  return bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24)
}

/**
 * Turns a received server→client payload into an event: a short frame holding a negative int32 is a transport
 * error, anything else is handed up as a frame.
 */
export function classifyServerPayload(payload: Uint8Array, padded: boolean): ClientTransportEvent {
  const isErrorSized = padded
    ? payload.length >= TRANSPORT_ERROR_LENGTH && payload.length <= MAX_PADDED_TRANSPORT_ERROR_LENGTH
    : payload.length === TRANSPORT_ERROR_LENGTH
  if (isErrorSized) {
    const code = readInt32LE(payload, 0)
    if (code < 0) return { type: 'transportError', error: new TransportError(code) }
  }
  return { type: 'frame', payload }
}

/**
 * A server→client length word with the top bit set is a quick ack, except a documented transport error code sent
 * bare (seen with the full transport, e.g. -429 with no framing); the odds that a quick-ack token equals one of the
 * three codes are 3 in 2^31.
 */
export function isBareTransportError(word: number): boolean {
  return TRANSPORT_ERROR_MESSAGES[word | 0] !== undefined
}

export function writeUint32LE(target: Uint8Array, offset: number, value: number): void {
  target[offset] = value & 0xff
  target[offset + 1] = (value >>> 8) & 0xff
  target[offset + 2] = (value >>> 16) & 0xff
  target[offset + 3] = (value >>> 24) & 0xff
}

/** Validates an outgoing payload: encoding is local, so a bad size is a programming error (RangeError). */
export function checkOutgoingLength(payload: Uint8Array, maxFrameLength = MAX_FRAME_LENGTH): void {
  if (payload.length === 0) throw new RangeError('cannot send an empty payload')
  if (payload.length > maxFrameLength) {
    throw new RangeError(`payload of ${payload.length} bytes exceeds the ${maxFrameLength}-byte frame limit`)
  }
}

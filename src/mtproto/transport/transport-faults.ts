/**
 * Fault injection for the server side (used by the test DC): what to do with each outgoing or incoming frame.
 * Pure data and small decision helpers; TransportServerConnection applies them.
 */
import type { ServerFrame } from './framing.ts'

/** What to do with one outgoing frame. */
export type OutgoingFaultAction =
  | { readonly type: 'pass' }
  /** Do not send it (and do not spend a full-transport seq on it). */
  | { readonly type: 'drop' }
  /** Hold it (and everything queued after it, order is kept) for `ms`. */
  | { readonly type: 'delay'; readonly ms: number }
  /** Send another payload instead, e.g. with flipped bits so the MTProto layer sees a bad msg_key. */
  | { readonly type: 'replace'; readonly payload: Uint8Array }
  /**
   * Damage the bytes on the wire (after framing and obfuscation; CTR maps a flipped ciphertext bit to the same
   * plaintext bit). Default: flip the low bit of the last byte — a bad CRC with full, a damaged payload otherwise.
   */
  | { readonly type: 'corrupt'; readonly mutate?: (wire: Uint8Array) => Uint8Array }
  /** Send this transport error (e.g. -404) instead of the frame. */
  | { readonly type: 'transportError'; readonly code: number }
  /** Close the connection instead of sending it. */
  | { readonly type: 'close' }

/** What to do with one incoming frame. */
export type IncomingFaultAction = 'deliver' | 'drop' | 'close'

export interface OutgoingFrameInfo {
  /** 0-based index among frames passed to send(). */
  readonly index: number
  readonly payload: Uint8Array
}

export interface IncomingFrameInfo {
  /** 0-based index among frames received. */
  readonly index: number
  readonly frame: ServerFrame
}

export interface TransportFaults {
  /** Close (gracefully, after flushing) once this many frames were sent. */
  closeAfterFramesSent?: number
  /** Close once this many frames were received (the last one is still delivered). */
  closeAfterFramesReceived?: number
  /** Delay every outgoing frame by this many ms (order is kept). */
  delayMs?: number
  /** Per-frame decision for outgoing frames; returning undefined falls back to `delayMs`. */
  outgoing?: (info: OutgoingFrameInfo) => OutgoingFaultAction | undefined
  /** Per-frame decision for incoming frames; undefined means 'deliver'. */
  incoming?: (info: IncomingFrameInfo) => IncomingFaultAction | undefined
}

export const PASS: OutgoingFaultAction = { type: 'pass' }

/** The action for one outgoing frame under `faults`. */
export function decideOutgoing(faults: TransportFaults | undefined, info: OutgoingFrameInfo): OutgoingFaultAction {
  if (faults === undefined) return PASS
  const chosen = faults.outgoing?.(info)
  if (chosen !== undefined) return chosen
  if (faults.delayMs !== undefined && faults.delayMs > 0) return { type: 'delay', ms: faults.delayMs }
  return PASS
}

/** Flips the low bit of the last byte. */
export function flipLastBit(wire: Uint8Array): Uint8Array {
  const out = Uint8Array.from(wire)
  if (out.length > 0) out[out.length - 1] ^= 1
  return out
}

/**
 * Server side of one accepted TCP socket, for the local test DC: detects the client's framing and obfuscation from its
 * first bytes, emits its packets, sends answers / quick acks / transport errors, and applies optional fault injection
 * (see transport-faults.ts). Timers exist only while a handshake or idle timeout or a fault delay is pending.
 */
import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import { ConnectTimeoutError, IdleTimeoutError } from './errors.ts'
import {
  ServerTransportCodec,
  type ServerTransportCodecOptions,
  type TransportDetection,
} from './server-transport-codec.ts'
import { decideOutgoing, flipLastBit, type OutgoingFaultAction, type TransportFaults } from './transport-faults.ts'

export interface TransportServerConnectionOptions extends ServerTransportCodecOptions {
  faults?: TransportFaults
  /** Close the socket if the client has not identified its transport within this time. Off by default. */
  handshakeTimeoutMs?: number
  /** Once the transport is detected, close the socket when nothing arrives from the client for this long. Off by default. */
  idleTimeoutMs?: number
}

export interface TransportServerConnectionEvents {
  /** The client's framing/obfuscation is known (before its first frame is emitted). */
  detected: [detection: TransportDetection]
  frame: [payload: Uint8Array, info: { quickAck: boolean }]
  /** Emitted once; `error` is undefined for a clean close. */
  close: [error: Error | undefined]
}

type Outgoing =
  | {
      readonly kind: 'frame'
      readonly payload: Uint8Array
      readonly action: OutgoingFaultAction
      readonly releaseAt: number
    }
  | { readonly kind: 'quickAck'; readonly token: number }
  | { readonly kind: 'transportError'; readonly code: number }

export class TransportServerConnection extends EventEmitter<TransportServerConnectionEvents> {
  private readonly codec: ServerTransportCodec
  private readonly faults: TransportFaults | undefined
  private readonly queue: Outgoing[] = []
  private holdTimer: NodeJS.Timeout | undefined
  private handshakeTimer: NodeJS.Timeout | undefined
  private idleTimer: NodeJS.Timeout | undefined
  private readonly idleTimeoutMs: number | undefined
  /** Date.now() of the last chunk received; the idle timer re-arms from it instead of being reset per chunk. */
  private lastReceivedAt = 0
  private detectedEmitted = false
  private closing = false
  private closed = false
  private closeError: Error | undefined
  private framesQueued = 0
  private framesSent = 0
  private framesReceived = 0

  constructor(
    readonly socket: Socket,
    options: TransportServerConnectionOptions = {},
  ) {
    super()
    this.codec = new ServerTransportCodec(options)
    this.faults = options.faults
    this.idleTimeoutMs = options.idleTimeoutMs
    socket.setNoDelay(true)
    if (options.handshakeTimeoutMs !== undefined) {
      const ms = options.handshakeTimeoutMs
      this.handshakeTimer = setTimeout(() => this.destroy(new ConnectTimeoutError(ms)), ms)
    }
    socket.on('data', (chunk: Buffer) => this.receive(chunk))
    socket.on('error', (error) => {
      this.closeError ??= error
    })
    socket.on('close', () => {
      this.closed = true
      this.clearTimers()
      this.queue.length = 0
      this.emit('close', this.closeError)
    })
  }

  get detection(): TransportDetection | undefined {
    return this.codec.detection
  }

  /** Bytes this connection holds: received but not yet framed, plus answers written but not yet flushed to the kernel. */
  get bufferedBytes(): number {
    return this.codec.buffered + this.socket.writableLength
  }

  get isOpen(): boolean {
    return !this.closing && !this.closed
  }

  /** Sends one MTProto packet (subject to faults). Ignored once closing. */
  send(payload: Uint8Array): void {
    if (!this.isOpen) return
    const index = this.framesQueued++
    const action = decideOutgoing(this.faults, { index, payload })
    const releaseAt = action.type === 'delay' ? Date.now() + action.ms : 0
    this.enqueue({ kind: 'frame', payload, action, releaseAt })
  }

  /** Answers a quick-ack request with `token` (the top bit is forced on). */
  sendQuickAck(token: number): void {
    if (this.isOpen) this.enqueue({ kind: 'quickAck', token })
  }

  /** Sends a transport error packet (e.g. -404); follow with close() to mimic Telegram. */
  sendTransportError(code: number): void {
    if (this.isOpen) this.enqueue({ kind: 'transportError', code })
  }

  /** Graceful close: what was already written is flushed, queued (delayed) frames are dropped. */
  close(): void {
    if (!this.isOpen) return
    this.closing = true
    this.clearTimers()
    this.queue.length = 0
    this.socket.end(() => this.socket.destroy())
  }

  /** Immediate close, optionally reporting `error` in the 'close' event. */
  destroy(error?: Error): void {
    if (this.closed) return
    if (error !== undefined) this.closeError ??= error
    this.closing = true
    this.clearTimers()
    this.queue.length = 0
    this.socket.destroy()
  }

  private clearTimers(): void {
    if (this.holdTimer !== undefined) clearTimeout(this.holdTimer)
    if (this.handshakeTimer !== undefined) clearTimeout(this.handshakeTimer)
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer)
    this.holdTimer = undefined
    this.handshakeTimer = undefined
    this.idleTimer = undefined
  }

  /** Fires `ms` from now; closes the socket if nothing arrived since, else waits out the rest of the idle period. */
  private armIdleTimer(ms: number): void {
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined
      const limit = this.idleTimeoutMs ?? 0
      const quiet = Date.now() - this.lastReceivedAt
      if (quiet >= limit) this.destroy(new IdleTimeoutError(limit))
      else this.armIdleTimer(limit - quiet)
    }, ms)
  }

  private receive(chunk: Uint8Array): void {
    if (!this.isOpen) return
    this.lastReceivedAt = Date.now()
    try {
      this.codec.push(chunk)
      for (;;) {
        const frame = this.codec.next()
        if (!this.detectedEmitted && this.codec.detection !== undefined) {
          this.detectedEmitted = true
          if (this.handshakeTimer !== undefined) clearTimeout(this.handshakeTimer)
          this.handshakeTimer = undefined
          if (this.idleTimeoutMs !== undefined) this.armIdleTimer(this.idleTimeoutMs)
          this.emit('detected', this.codec.detection)
        }
        if (frame === undefined || !this.isOpen) return
        const index = this.framesReceived++
        const action = this.faults?.incoming?.({ index, frame }) ?? 'deliver'
        if (action === 'close') {
          this.close()
          return
        }
        if (action === 'deliver') this.emit('frame', frame.payload, { quickAck: frame.quickAck })
        const limit = this.faults?.closeAfterFramesReceived
        if (limit !== undefined && this.framesReceived >= limit) {
          this.close()
          return
        }
      }
    } catch (error) {
      this.destroy(error instanceof Error ? error : undefined)
    }
  }

  private enqueue(item: Outgoing): void {
    if (this.holdTimer !== undefined || this.queue.length > 0) {
      this.queue.push(item)
      return
    }
    this.queue.push(item)
    this.flush()
  }

  /** Writes queued items in order until one must wait for its delay. */
  private flush(): void {
    while (this.queue.length > 0 && this.isOpen) {
      const item = this.queue[0]
      if (item.kind === 'frame' && item.releaseAt > 0) {
        const wait = item.releaseAt - Date.now()
        if (wait > 0) {
          this.holdTimer = setTimeout(() => {
            this.holdTimer = undefined
            this.flush()
          }, wait)
          return
        }
      }
      this.queue.shift()
      this.write(item)
    }
  }

  private write(item: Outgoing): void {
    switch (item.kind) {
      case 'quickAck':
        this.socket.write(this.codec.encodeQuickAck(item.token))
        return
      case 'transportError':
        this.socket.write(this.codec.encodeTransportError(item.code))
        return
      case 'frame':
        break
    }
    const action = item.action
    switch (action.type) {
      case 'drop':
        return
      case 'close':
        this.close()
        return
      case 'pass':
      case 'delay':
        this.socket.write(this.codec.encode(item.payload))
        break
      case 'replace':
        this.socket.write(this.codec.encode(action.payload))
        break
      case 'corrupt':
        this.socket.write((action.mutate ?? flipLastBit)(this.codec.encode(item.payload)))
        break
      case 'transportError':
        this.socket.write(this.codec.encodeTransportError(action.code))
        break
    }
    this.framesSent++
    const limit = this.faults?.closeAfterFramesSent
    if (limit !== undefined && this.framesSent >= limit) this.close()
  }
}

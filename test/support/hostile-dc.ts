// A DC that misbehaves on purpose, for the client's robustness tests: a raw TCP server speaking the intermediate
// transport whose every answer is written by the test. It shares an auth key with the client (given to the client
// as a stored key), so it can send well-formed encrypted messages and also every kind of wrong one: silence, a
// frame that never ends, packets that fail a check, endless bad_server_salt, service messages naming the wrong
// call, decompression bombs, transport errors.
import { createServer, type Server, type Socket } from 'node:net'
import { gzipSync } from 'node:zlib'
import { ServerTransportCodec } from '../../src/mtproto/transport/index.ts'
import { AuthKey } from '../../src/mtproto/crypto/auth-key.ts'
import { encryptMessage, decryptMessage } from '../../src/mtproto/crypto/message-cipher.ts'
import { randomBytes } from '../../src/mtproto/crypto/random.ts'
import { MessageIdClock } from '../../src/mtproto/session/message-id-clock.ts'
import {
  isContainer,
  unpackContainer,
  packContainer,
  type InnerMessage,
} from '../../src/mtproto/session/message-container.ts'
import { isPlainMessage, unpackPlainMessage } from '../../src/mtproto/session/plain-message.ts'
import { DcConnection, type DcConnectionOptions } from '../../src/mtproto/dc/dc-connection.ts'
import { tlCodec, type TlValue } from '../../src/mtproto/tl/index.ts'
import { APP } from './dc-env.ts'

const RPC_RESULT_ID = 0xf35c6d01
const GZIP_PACKED_ID = 0x3072cfa1

/** One message the client sent, decrypted (containers are unpacked into their messages). */
export interface ClientMessage {
  msgId: bigint
  seqNo: number
  body: Uint8Array
  /** The decoded body; undefined when it does not decode (never with our client). */
  obj: TlValue | undefined
  /** The innermost method (invokeWithLayer(initConnection(x)) → x's name). */
  method: string
}

export interface HostileBehaviour {
  /** A TCP connection was accepted (e.g. `c.socket.pause()` to read nothing). */
  onConnect?(c: HostileConnection): void
  /** A plain (key-exchange) message; default: silence. */
  onPlain?(c: HostileConnection, msg: { msgId: bigint; body: Uint8Array }): void
  /** Each message of an encrypted packet; default: silence. */
  onMessage?(c: HostileConnection, m: ClientMessage): void
}

export interface HostileStats {
  connections: number
  plainMessages: number
  encryptedPackets: number
  messages: number
}

/** TL bytes: a 1- or 4-byte length, the bytes, padding to 4. */
export function tlBytes(data: Uint8Array): Uint8Array {
  const header = data.length < 254 ? 1 : 4
  const out = new Uint8Array((header + data.length + 3) & ~3)
  if (header === 1) out[0] = data.length
  else {
    out[0] = 254
    out[1] = data.length & 0xff
    out[2] = (data.length >> 8) & 0xff
    out[3] = (data.length >> 16) & 0xff
  }
  out.set(data, header)
  return out
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

function u32(v: number): Uint8Array {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, v, true)
  return b
}

function i64(v: bigint): Uint8Array {
  const b = new Uint8Array(8)
  new DataView(b.buffer).setBigInt64(0, v, true)
  return b
}

/** rpc_result#f35c6d01 req_msg_id:long result:Object */
export function rpcResult(reqMsgId: bigint, result: Uint8Array): Uint8Array {
  return concat(u32(RPC_RESULT_ID), i64(reqMsgId), result)
}

/** gzip_packed#3072cfa1 packed_data:bytes (level 0 stores: fast to build deep nestings). */
export function gzipPacked(inner: Uint8Array, level = 6): Uint8Array {
  return concat(u32(GZIP_PACKED_ID), tlBytes(gzipSync(inner, { level })))
}

export function container(messages: InnerMessage[]): Uint8Array {
  return packContainer(messages)
}

export class HostileConnection {
  readonly codec = new ServerTransportCodec()
  /** The client's session (from its last message) and a server clock for our msg_ids. */
  sessionId = 0n
  readonly clock = new MessageIdClock(1)
  private seq = 0
  closed = false

  constructor(
    readonly dc: HostileDc,
    readonly socket: Socket,
  ) {}

  /** Raw bytes on the wire (after the transport was detected, the framing is the caller's). */
  sendWire(bytes: Uint8Array): void {
    if (!this.closed) this.socket.write(bytes)
  }

  /** One framed payload. */
  sendPayload(payload: Uint8Array): void {
    this.sendWire(this.codec.encode(payload))
  }

  sendTransportError(code: number): void {
    this.sendWire(this.codec.encodeTransportError(code))
  }

  /** An encrypted packet with `body`; every header field can be set wrong. Returns the msg_id used. */
  encrypted(
    body: Uint8Array,
    o: { msgId?: bigint; seqNo?: number; sessionId?: bigint; salt?: bigint } = {},
  ): { packet: Uint8Array; msgId: bigint } {
    const msgId = o.msgId ?? this.clock.next()
    const seqNo = o.seqNo ?? this.seq++ * 2 + 1
    const packet = encryptMessage(this.dc.key, 'server', {
      salt: o.salt ?? 0n,
      sessionId: o.sessionId ?? this.sessionId,
      msgId,
      seqNo,
      body,
    }).packet
    return { packet, msgId }
  }

  sendMessage(body: Uint8Array, o: { msgId?: bigint; seqNo?: number; sessionId?: bigint; salt?: bigint } = {}): bigint {
    const { packet, msgId } = this.encrypted(body, o)
    this.sendPayload(packet)
    return msgId
  }

  /** A service or API object as a message of its own. */
  sendObject(obj: TlValue, o: { msgId?: bigint; seqNo?: number } = {}): bigint {
    return this.sendMessage(tlCodec.encode(obj), o)
  }

  /** The result of call `m`, in rpc_result. */
  answer(m: ClientMessage, result: TlValue): void {
    this.sendMessage(rpcResult(m.msgId, tlCodec.encode(result)))
  }

  close(): void {
    this.closed = true
    this.socket.destroy()
  }

  /** Not for tests: bytes from the client. */
  receive(chunk: Uint8Array): void {
    this.codec.push(chunk)
    for (;;) {
      let frame
      try {
        frame = this.codec.next()
      } catch {
        this.close()
        return
      }
      if (!frame || this.closed) return
      this.onPacket(frame.payload)
    }
  }

  private onPacket(payload: Uint8Array): void {
    const b = this.dc.behaviour
    if (isPlainMessage(payload)) {
      this.dc.stats.plainMessages++
      b.onPlain?.(this, unpackPlainMessage(payload))
      return
    }
    this.dc.stats.encryptedPackets++
    let env
    try {
      env = decryptMessage(this.dc.key, 'client', payload)
    } catch {
      this.close()
      return
    }
    this.sessionId = env.sessionId
    const messages: InnerMessage[] = isContainer(env.body) ? unpackContainer(env.body) : [env]
    for (const m of messages) {
      this.dc.stats.messages++
      let obj: TlValue | undefined
      try {
        obj = tlCodec.decode(m.body)
      } catch {
        obj = undefined
      }
      b.onMessage?.(this, {
        msgId: m.msgId,
        seqNo: m.seqNo,
        body: m.body,
        obj,
        method: obj ? tlCodec.innerRequest(obj)._ : '?',
      })
    }
  }
}

export class HostileDc {
  readonly authKey = randomBytes(256)
  readonly key = new AuthKey(this.authKey)
  readonly connections: HostileConnection[] = []
  readonly stats: HostileStats = { connections: 0, plainMessages: 0, encryptedPackets: 0, messages: 0 }
  private readonly clients: DcConnection[] = []

  private constructor(
    private readonly server: Server,
    public behaviour: HostileBehaviour,
  ) {}

  static async start(behaviour: HostileBehaviour = {}): Promise<HostileDc> {
    let dc!: HostileDc
    const server = createServer((socket) => {
      const c = new HostileConnection(dc, socket)
      dc.connections.push(c)
      dc.stats.connections++
      socket.on('data', (chunk) => c.receive(chunk))
      socket.on('error', () => {})
      socket.on('close', () => {
        c.closed = true
      })
      dc.behaviour.onConnect?.(c)
    })
    dc = new HostileDc(server, behaviour)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return dc
  }

  get port(): number {
    return (this.server.address() as { port: number }).port
  }

  /** The last connection accepted. */
  get last(): HostileConnection | undefined {
    return this.connections[this.connections.length - 1]
  }

  /** A client connection to this DC: with the shared key (`withKey`, default) or without one (key exchange). */
  open(extra: Partial<DcConnectionOptions> = {}, withKey = true): DcConnection {
    const conn = new DcConnection({
      dcId: 2,
      host: '127.0.0.1',
      port: this.port,
      testMode: true,
      rsaKeys: [],
      app: APP,
      reconnect: { baseDelayMs: 5, maxDelayMs: 20, maxAttempts: 4 },
      ...(withKey ? { authKey: this.authKey } : {}),
      ...extra,
    })
    this.clients.push(conn)
    return conn
  }

  async stop(): Promise<void> {
    for (const c of this.clients) c.close()
    for (const c of this.connections) c.close()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

/** Starts a hostile DC, runs `fn`, stops it whatever happens. */
export async function withHostileDc(behaviour: HostileBehaviour, fn: (dc: HostileDc) => Promise<void>): Promise<void> {
  const dc = await HostileDc.start(behaviour)
  try {
    await fn(dc)
  } finally {
    await dc.stop()
  }
}

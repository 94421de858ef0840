// One DC of the test DC cluster: a TCP listener on loopback, the auth keys created on it, and for every
// accepted socket the transport (auto-detected), the key exchange for plain messages, and encrypted
// sessions for the rest. Unknown auth keys get transport error -404, as Telegram does.
import { createServer, type Server, type Socket } from 'node:net'
import { TransportServerConnection, type TransportFaults } from '../mtproto/transport/index.ts'
import { decryptMessage } from '../mtproto/crypto/message-cipher.ts'
import type { AuthKey } from '../mtproto/crypto/auth-key.ts'
import type { RsaPrivateKey } from '../mtproto/crypto/rsa-keys.ts'
import { randomBytes } from '../mtproto/crypto/random.ts'
import { isPlainMessage, packPlainMessage, unpackPlainMessage } from '../mtproto/session/plain-message.ts'
import { MessageIdClock } from '../mtproto/session/message-id-clock.ts'
import type { TlValue } from '../mtproto/tl/index.ts'
import { HandshakeResponder, type HandshakeFaults } from './handshake-responder.ts'
import { ServerSession, type KeyState, type SessionFaults } from './server-session.ts'
import type { RpcContext, RpcDispatcher } from './rpc-dispatcher.ts'

/** Transport error for a packet whose auth_key_id the DC does not know (docs/protocol.md#transports). */
const AUTH_KEY_NOT_FOUND = -404

export interface DcFaults {
  transport?: TransportFaults
  handshake?: HandshakeFaults
  /** Seconds the DC's clock is off (clients must resync from bad_msg_notification 16/17). */
  clockSkewSeconds?: number
  /** Test-only: the DC's encrypted messages break one client check (replay, parity, session id, time window). */
  session?: SessionFaults
}

/** Login state of an auth key, kept by whoever implements accounts (see RpcContext). */
export interface AuthKeyBinding {
  userId: bigint | null
}

export class DcAuthKey implements KeyState {
  readonly sessions = new Map<bigint, ServerSession>()
  layer: number | null = null
  client: RpcContext['client'] = null
  private currentSalts: bigint[]

  constructor(
    readonly dc: DcServer,
    readonly authKey: AuthKey,
    salt: bigint,
  ) {
    this.currentSalts = [salt]
  }

  salts(): bigint[] {
    return this.currentSalts
  }

  /** A new salt; the previous one stays valid (Telegram accepts the old salt for 30 minutes more). */
  rotateSalt(): bigint {
    const salt = new DataView(randomBytes(8).buffer).getBigInt64(0, true)
    this.currentSalts = [salt, ...this.currentSalts.slice(0, 1)]
    return salt
  }

  /** Forgets every salt but a new one: the client's next message gets bad_server_salt. */
  replaceSalt(): bigint {
    const salt = new DataView(randomBytes(8).buffer).getBigInt64(0, true)
    this.currentSalts = [salt]
    return salt
  }

  get userId(): bigint | null {
    return this.dc.cluster.userOfKey(this.dc.id, this.authKey.idLong)
  }

  context(): RpcContext {
    const key = this
    return {
      dcId: this.dc.id,
      authKeyId: this.authKey.idLong,
      get userId() { return key.userId },
      get layer() { return key.layer },
      set layer(v) { key.layer = v },
      get client() { return key.client },
      set client(v) { key.client = v },
      authorize: (userId) => this.dc.cluster.bindKey(this.dc.id, this.authKey.idLong, userId),
      deauthorize: () => this.dc.cluster.unbindKey(this.dc.id, this.authKey.idLong),
      pushUpdate: (update: TlValue) => {
        for (const s of this.sessions.values()) s.pushUpdate(update)
      },
    }
  }
}

/** What a DC needs from the cluster around it. */
export interface DcCluster {
  userOfKey(dcId: number, authKeyId: bigint): bigint | null
  bindKey(dcId: number, authKeyId: bigint, userId: bigint): void
  unbindKey(dcId: number, authKeyId: bigint): void
  /** Answers 401/406 for keys the accounts side has revoked, duplicated, or banned; null to go on. */
  keyRejection?(dcId: number, authKeyId: bigint): { code: number; message: string } | null
}

export class DcServer {
  readonly keys = new Map<bigint, DcAuthKey>()
  private readonly server: Server
  private readonly sockets = new Set<Socket>()
  private readonly plainClock = new MessageIdClock(1)
  port = 0
  /** Counters for tests and benchmarks. */
  readonly stats = { connections: 0, keysCreated: 0, handshakeErrors: 0, unknownKeyPackets: 0 }

  constructor(
    readonly id: number,
    readonly host: string,
    readonly cluster: DcCluster,
    private readonly rsaKey: RsaPrivateKey,
    private readonly dispatcher: RpcDispatcher,
    readonly faults: DcFaults = {},
  ) {
    this.server = createServer((socket) => this.accept(socket))
  }

  listen(port = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, this.host, () => {
        const addr = this.server.address()
        this.port = typeof addr === 'object' && addr ? addr.port : port
        resolve(this.port)
      })
    })
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  /** Drops every open connection (clients must reconnect and resend). */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy()
  }

  private accept(socket: Socket): void {
    this.stats.connections++
    this.sockets.add(socket)
    socket.once('close', () => this.sockets.delete(socket))
    const conn = new TransportServerConnection(socket, { faults: this.faults.transport, handshakeTimeoutMs: 30_000 })
    let handshake: HandshakeResponder | undefined
    const link = { send: (packet: Uint8Array) => conn.send(packet) }
    // Packets of one connection are handled in order, even when a handler awaits.
    let queue: Promise<void> = Promise.resolve()
    conn.on('frame', (payload) => {
      queue = queue.then(() => this.onPacket(payload, conn, link, () => (handshake ??= new HandshakeResponder(this.rsaKey, (id) => this.keys.has(id), this.faults.handshake)))).catch(() => conn.destroy())
    })
    conn.on('close', () => socket.destroy())
  }

  private async onPacket(
    payload: Uint8Array,
    conn: TransportServerConnection,
    link: { send(p: Uint8Array): void },
    handshake: () => HandshakeResponder,
  ): Promise<void> {
    if (payload.length < 8) return
    if (isPlainMessage(payload)) {
      const { body } = unpackPlainMessage(payload)
      let result
      try {
        result = handshake().handle(body)
      } catch {
        this.stats.handshakeErrors++
        conn.sendTransportError(AUTH_KEY_NOT_FOUND)
        return
      }
      if (result.created) {
        this.keys.set(result.created.authKey.idLong, new DcAuthKey(this, result.created.authKey, result.created.serverSalt))
        this.stats.keysCreated++
      }
      conn.send(packPlainMessage(this.plainClock.next(), result.answer))
      return
    }
    const keyId = new DataView(payload.buffer, payload.byteOffset, 8).getBigInt64(0, true)
    const key = this.keys.get(keyId)
    if (!key) {
      this.stats.unknownKeyPackets++
      conn.sendTransportError(AUTH_KEY_NOT_FOUND)
      return
    }
    let msg
    try {
      // The packet must be no longer than what the MTProto layer says (padded intermediate adds bytes).
      const cut = payload.subarray(0, 24 + ((payload.length - 24) & ~15))
      msg = decryptMessage(key.authKey, 'client', cut)
    } catch {
      conn.sendTransportError(AUTH_KEY_NOT_FOUND)
      return
    }
    let session = key.sessions.get(msg.sessionId)
    if (!session) {
      session = new ServerSession(msg.sessionId, key, this.dispatcher, () => this.faults.clockSkewSeconds ?? 0, () => this.faults.session)
      key.sessions.set(msg.sessionId, session)
    }
    session.attach(link)
    const rejection = this.cluster.keyRejection?.(this.id, keyId)
    if (rejection) {
      await session.rejectAll(msg, rejection.code, rejection.message)
      return
    }
    await session.receive(msg)
  }
}

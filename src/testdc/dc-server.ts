// One DC of the test DC cluster: a TCP listener on loopback, the auth keys created on it, and for every
// accepted socket the transport (auto-detected), the key exchange for plain messages, and encrypted
// sessions for the rest. Unknown auth keys get transport error -404, as Telegram does.
import { createServer, type Server, type Socket } from 'node:net'
import {
  TransportServerConnection,
  ConnectTimeoutError,
  IdleTimeoutError,
  type TransportFaults,
} from '../mtproto/transport/index.ts'
import { decryptMessage } from '../mtproto/crypto/message-cipher.ts'
import type { AuthKey } from '../mtproto/crypto/auth-key.ts'
import type { RsaPrivateKey } from '../mtproto/crypto/rsa-keys.ts'
import { randomBytes } from '../mtproto/crypto/random.ts'
import { isPlainMessage, packPlainMessage, unpackPlainMessage } from '../mtproto/session/plain-message.ts'
import { MessageIdClock } from '../mtproto/session/message-id-clock.ts'
import type { TlValue } from '../mtproto/tl/index.ts'
import { HandshakeResponder, type HandshakeFaults } from './handshake-responder.ts'
import { inlineHandshakeMath, type HandshakeMath } from './handshake-math.ts'
import {
  ServerSession,
  type KeyState,
  type SessionFaults,
  type SessionLink,
  type FutureSalt,
} from './server-session.ts'
import { bindTempAuthKey, unbindKey, type BindableKey } from './temp-key-binding.ts'
import type { RpcContext, RpcDispatcher } from './rpc-dispatcher.ts'
import { DcLimitError, REFUSAL_HEADROOM, resolveDcLimits, type DcLimits } from './dc-limits.ts'
import { LruMap } from './lru-map.ts'
import { SessionHistory } from './session-history.ts'

/** Transport error for a packet whose auth_key_id the DC does not know (docs/protocol.md#transports). */
const AUTH_KEY_NOT_FOUND = -404
/** Transport error for a connection past the DC's connection limit (too many connections). */
const TOO_MANY_CONNECTIONS = -429
/** The longest delay setTimeout keeps (2^31 − 1 ms); a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1

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

/** How long one salt is announced as valid by future_salts (Telegram rotates salts every 30 minutes). */
const SALT_PERIOD_SECONDS = 1800

export class DcAuthKey implements KeyState, BindableKey {
  readonly sessions = new Map<bigint, ServerSession>()
  layer: number | null = null
  client: RpcContext['client'] = null
  private currentSalts: bigint[]
  /** Salts announced by future_salts after the current one, each accepted from its valid_since on. */
  private announcedSalts: FutureSalt[] = []
  boundTo: DcAuthKey | null = null
  boundTemp: DcAuthKey | null = null

  constructor(
    readonly dc: DcServer,
    readonly authKey: AuthKey,
    salt: bigint,
    /** Unix time a temporary key (p_q_inner_data_temp[_dc]) stops working; null for a permanent key. */
    public expiresAt: number | null = null,
  ) {
    this.currentSalts = [salt]
  }

  salts(): bigint[] {
    const now = Math.floor(Date.now() / 1000)
    if (this.announcedSalts.length === 0 || this.announcedSalts[0]!.validSince > now) return this.currentSalts
    // An announced salt whose time has come becomes the current one (the previous stays valid, as with rotateSalt).
    while (this.announcedSalts.length > 0 && this.announcedSalts[0]!.validSince <= now) {
      const next = this.announcedSalts.shift()!
      this.currentSalts = [next.salt, this.currentSalts[0]!]
    }
    return this.currentSalts
  }

  /** get_future_salts: the current salt and num − 1 more, 30 minutes each; the DC accepts each in its turn. */
  futureSalts(num: number, now: number): FutureSalt[] {
    const count = Math.min(Math.max(num, 1), 64) // the client asks for 1–64 (core.telegram.org/mtproto/service_messages)
    const current = this.salts()[0]!
    const start = now - (now % SALT_PERIOD_SECONDS)
    while (this.announcedSalts.length < count - 1) {
      this.announcedSalts.push({
        validSince: 0,
        validUntil: 0,
        salt: new DataView(randomBytes(8).buffer).getBigInt64(0, true),
      })
    }
    const out: FutureSalt[] = [{ validSince: start, validUntil: start + SALT_PERIOD_SECONDS, salt: current }]
    this.announcedSalts.forEach((s, i) => {
      s.validSince = start + (i + 1) * SALT_PERIOD_SECONDS
      s.validUntil = s.validSince + SALT_PERIOD_SECONDS
      if (i < count - 1) out.push({ ...s })
    })
    return out
  }

  /** destroy_session: forgets another session of this key; false when there is none. */
  destroySession(sessionId: bigint): boolean {
    return this.sessions.delete(sessionId)
  }

  /** destroy_auth_key: the DC forgets the key, its sessions and its login; its next packet gets -404. */
  destroy(): void {
    unbindKey(this)
    this.sessions.clear()
    this.dc.keys.delete(this.authKey.idLong)
    this.dc.cluster.unbindKey(this.dc.id, this.authKey.idLong)
  }

  /** The key whose login this key uses: a bound temporary key answers as its permanent key (core.telegram.org/api/pfs). */
  get loginKeyId(): bigint {
    return this.boundTo?.authKey.idLong ?? this.authKey.idLong
  }

  /** A temporary key not bound to a permanent one (it may only bind itself and read the config). */
  get unboundTemp(): boolean {
    return this.expiresAt !== null && this.boundTo === null
  }

  /** auth.bindTempAuthKey sent on this key in `sessionId` as message `msgId`; throws RpcFailure. */
  bindTemp(req: TlValue, sessionId: bigint, msgId: bigint): void {
    bindTempAuthKey(req, {
      key: this,
      sessionId,
      msgId,
      nowSeconds: Math.floor(Date.now() / 1000),
      findKey: (id) => this.dc.keys.get(id),
    })
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
    return this.dc.cluster.userOfKey(this.dc.id, this.loginKeyId)
  }

  context(): RpcContext {
    const key = this
    return {
      dcId: this.dc.id,
      get authKeyId() {
        return key.loginKeyId
      },
      get unboundTempKey() {
        return key.unboundTemp
      },
      get userId() {
        return key.userId
      },
      get layer() {
        return key.layer
      },
      set layer(v) {
        key.layer = v
      },
      get client() {
        return key.client
      },
      set client(v) {
        key.client = v
        key.dc.cluster.keyActive?.(key.dc.id, key.loginKeyId, { client: v })
      },
      authorize: (userId) => this.dc.cluster.bindKey(this.dc.id, this.loginKeyId, userId),
      deauthorize: () => this.dc.cluster.unbindKey(this.dc.id, this.loginKeyId),
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
  /** The DC forgot this key (its LRU was full): drop whatever is kept for it. Without it, unbindKey is called. */
  forgetKey?(dcId: number, authKeyId: bigint): void
  /** Answers 401/406 for keys the accounts side has revoked, duplicated, or banned; null to go on. */
  keyRejection?(dcId: number, authKeyId: bigint): { code: number; message: string } | null
  /** A request of the key is let through (from `ip`), or the key announced its app (initConnection). */
  keyActive?(dcId: number, authKeyId: bigint, info: { ip?: string; client?: RpcContext['client'] }): void
}

export class DcServer {
  /** Auth keys by id, least recently used first; past limits.maxAuthKeys the oldest is forgotten. */
  readonly keys: LruMap<bigint, DcAuthKey>
  /** Every session of every key, least recently used first; past limits.maxSessions the oldest is forgotten. */
  private readonly sessions: LruMap<ServerSession, DcAuthKey>
  /** What all those sessions remember about past messages, under limits.maxSessionHistoryBytes. */
  readonly history: SessionHistory
  readonly limits: DcLimits
  private readonly server: Server
  private readonly sockets = new Set<Socket>()
  private readonly plainClock = new MessageIdClock(1)
  /** Connections let in (not refused with -429) and still open. */
  private admitted = 0
  /** Bytes held for all admitted connections (see DcLimits.maxBufferedBytes). */
  private buffered = 0
  port = 0
  /** Counters for tests and benchmarks. */
  readonly stats = {
    connections: 0,
    keysCreated: 0,
    handshakeErrors: 0,
    unknownKeyPackets: 0,
    connectionsRefused: 0,
    detectTimeouts: 0,
    idleTimeouts: 0,
    bufferLimitCloses: 0,
    sessionsForgotten: 0,
    keysForgotten: 0,
  }

  constructor(
    readonly id: number,
    readonly host: string,
    readonly cluster: DcCluster,
    private readonly rsaKey: RsaPrivateKey,
    private readonly dispatcher: RpcDispatcher,
    readonly faults: DcFaults = {},
    limits: Partial<DcLimits> = {},
    /** Where key exchanges' arithmetic runs (default: on this thread). */
    private readonly math: HandshakeMath = inlineHandshakeMath(rsaKey),
  ) {
    this.limits = resolveDcLimits(limits)
    this.keys = new LruMap(this.limits.maxAuthKeys, (keyId, key) => this.forgetKey(keyId, key))
    this.sessions = new LruMap(this.limits.maxSessions, (session, key) => {
      key.sessions.delete(session.sessionId)
      this.stats.sessionsForgotten++
    })
    this.history = new SessionHistory(this.limits.maxSessionHistoryBytes)
    this.server = createServer((socket) => this.accept(socket))
    // Sockets past this are closed by node as they are accepted; up to it, refused ones wait to be told -429.
    this.server.maxConnections = this.limits.maxConnections + REFUSAL_HEADROOM
  }

  /** Connections let in and open now. */
  get openConnections(): number {
    return this.admitted
  }

  /** Bytes held for open connections now (partial and unhandled frames, unread answers). */
  get bufferedBytes(): number {
    return this.buffered
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
    const conn = new TransportServerConnection(socket, {
      faults: this.faults.transport,
      handshakeTimeoutMs: this.limits.detectTimeoutMs,
      idleTimeoutMs: this.limits.idleTimeoutMs,
      maxFrameLength: this.limits.maxFrameBytes,
    })
    conn.on('close', (error) => {
      socket.destroy()
      if (error instanceof ConnectTimeoutError) this.stats.detectTimeouts++
      else if (error instanceof IdleTimeoutError) this.stats.idleTimeouts++
    })
    if (this.admitted >= this.limits.maxConnections) {
      this.stats.connectionsRefused++
      // -429 needs the client's framing, so it goes out once the transport is known (or the detect timeout closes it).
      conn.once('detected', () => {
        conn.sendTransportError(TOO_MANY_CONNECTIONS)
        conn.close()
      })
      return
    }
    this.admitted++
    // What this connection counts in this.buffered: its transport's bytes plus frames received and not yet handled.
    let held = 0
    let unhandled = 0
    const account = (): void => {
      if (!conn.isOpen) return
      const now = conn.bufferedBytes + unhandled
      const grew = now > held
      this.buffered += now - held
      held = now
      if (grew && this.buffered > this.limits.maxBufferedBytes) {
        this.stats.bufferLimitCloses++
        conn.destroy(new DcLimitError('maxBufferedBytes', `${this.buffered} bytes held, this connection ${now}`))
      }
    }
    conn.on('close', () => {
      this.admitted--
      this.buffered -= held
      held = 0
    })
    // Registered after the connection's own listener, so the chunk is already decoded when it is counted.
    socket.on('data', account)
    socket.on('drain', account)
    let handshake: HandshakeResponder | undefined
    // The address sessions lists show (IPv4 clients of a dual-stack socket appear as ::ffff:a.b.c.d).
    const ip = (socket.remoteAddress ?? '').replace(/^::ffff:/, '')
    const link = {
      send: (packet: Uint8Array) => {
        conn.send(packet)
        account()
      },
    }
    // ping_delay_disconnect arms a timer: the connection closes disconnect_delay seconds after the last one.
    let disconnectTimer: NodeJS.Timeout | undefined
    conn.on('close', () => clearTimeout(disconnectTimer))
    const sessionLink: SessionLink = {
      send: (packet) => link.send(packet),
      disconnectAfter: (seconds) => {
        clearTimeout(disconnectTimer)
        // disconnect_delay is the client's int32: a delay past what a timer holds (~24.8 days) means "not soon", not
        // the 1 ms node would turn it into
        disconnectTimer = setTimeout(() => conn.close(), Math.min(Math.max(0, seconds) * 1000, MAX_TIMER_MS))
      },
    }
    // Packets of one connection are handled in order, even when a handler awaits.
    let queue: Promise<void> = Promise.resolve()
    conn.on('frame', (payload) => {
      unhandled += payload.length
      queue = queue
        .then(() =>
          this.onPacket(
            payload,
            conn,
            sessionLink,
            () =>
              (handshake ??= new HandshakeResponder(
                this.rsaKey,
                this.math,
                (id) => this.keys.has(id),
                this.faults.handshake,
              )),
            ip,
          ),
        )
        .catch(() => conn.destroy())
        .finally(() => {
          unhandled -= payload.length
          account()
        })
    })
  }

  /** Called by the key LRU: the key, its sessions and its login are gone; its next packet gets -404. */
  private forgetKey(keyId: bigint, key: DcAuthKey): void {
    for (const session of key.sessions.values()) this.sessions.delete(session)
    key.sessions.clear()
    this.stats.keysForgotten++
    if (this.cluster.forgetKey) this.cluster.forgetKey(this.id, keyId)
    else this.cluster.unbindKey(this.id, keyId)
  }

  private async onPacket(
    payload: Uint8Array,
    conn: TransportServerConnection,
    link: SessionLink,
    handshake: () => HandshakeResponder,
    ip: string,
  ): Promise<void> {
    if (payload.length < 8) return
    if (isPlainMessage(payload)) {
      const { body } = unpackPlainMessage(payload)
      let result
      try {
        result = await handshake().handle(body)
      } catch {
        this.stats.handshakeErrors++
        conn.sendTransportError(AUTH_KEY_NOT_FOUND)
        return
      }
      if (result.created) {
        const { authKey, serverSalt, expiresIn } = result.created
        const expiresAt = expiresIn === null ? null : Math.floor(Date.now() / 1000) + expiresIn
        this.keys.set(authKey.idLong, new DcAuthKey(this, authKey, serverSalt, expiresAt))
        this.stats.keysCreated++
      }
      conn.send(packPlainMessage(this.plainClock.next(), result.answer))
      return
    }
    const keyId = new DataView(payload.buffer, payload.byteOffset, 8).getBigInt64(0, true)
    const key = this.keys.use(keyId)
    if (!key) {
      this.stats.unknownKeyPackets++
      conn.sendTransportError(AUTH_KEY_NOT_FOUND)
      return
    }
    if (key.expiresAt !== null && key.expiresAt <= Date.now() / 1000) {
      // An expired temporary key is gone, as on Telegram: -404 (core.telegram.org/api/pfs).
      key.destroy()
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
      session = new ServerSession(
        msg.sessionId,
        key,
        this.dispatcher,
        () => this.faults.clockSkewSeconds ?? 0,
        () => this.faults.session,
        {
          maxInflatedBytes: this.limits.maxInflatedBytes,
          maxDepth: this.limits.maxPackingDepth,
        },
        this.history,
      )
      key.sessions.set(msg.sessionId, session)
    }
    this.sessions.set(session, key)
    session.attach(link)
    const rejection = this.cluster.keyRejection?.(this.id, key.loginKeyId)
    if (rejection) {
      await session.rejectAll(msg, rejection.code, rejection.message)
      return
    }
    this.cluster.keyActive?.(this.id, key.loginKeyId, { ip })
    await session.receive(msg)
  }
}

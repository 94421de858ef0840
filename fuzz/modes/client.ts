// `npm run fuzz -- client`: random and mutated server answers against our client.
//
// Two targets, interleaved:
// - the encrypted session (MtprotoSession, the bulk of the frames): real MTProto 2.0 packets under a real auth key,
//   built from valid answers and service messages that name the client's pending calls, then mutated (bodies,
//   headers, whole packets), wrapped in gzip_packed and containers (decompression bombs and deep nestings included),
//   or random. No sockets: this is where decoding, bookkeeping and settling live, and it runs ~10⁴ frames a second.
// - the whole connection (DcConnection over TCP to an in-process hostile DC, 1 frame in 200): junk in the stream, a
//   frame length that never completes, transport errors (-404, -429, -444, others), random and mutated frames, each
//   in answer to a call.
//
// What counts as what:
// - crash: receive() throws, an uncaught exception or unhandled rejection happens, or a call is rejected with
//   something that is not one of our typed errors (a TypeError or RangeError leaking out of decoding, say).
// - hang: one receive() blocks the loop longer than --hang-ms; a probe call that the server answers properly is not
//   settled within --hang-ms (every PROBE_EVERY session frames); a call on the connection settles neither with an
//   answer nor with an error within its request deadline plus --hang-ms.
// - memory: RSS sampled every second; bounded when it ends within 64 MiB of its value after a fifth of the frames.
import { gzipSync } from 'node:zlib'
import type { FuzzOptions, FuzzReport } from '../fuzz-report.ts'
import { FuzzRandom, mutate } from '../fuzz-random.ts'
import { AuthKey } from '../../src/mtproto/crypto/auth-key.ts'
import { encryptMessage, decryptMessage } from '../../src/mtproto/crypto/message-cipher.ts'
import { MessageIdClock } from '../../src/mtproto/session/message-id-clock.ts'
import {
  packContainer,
  isContainer,
  unpackContainer,
  type InnerMessage,
} from '../../src/mtproto/session/message-container.ts'
import { MtprotoSession, type PlainEnvelope, type SessionCipher } from '../../src/mtproto/session/mtproto-session.ts'
import type { DcConnection } from '../../src/mtproto/dc/dc-connection.ts'
import { tlCodec, type TlValue } from '../../src/mtproto/tl/index.ts'
import { HostileDc, type HostileConnection, type ClientMessage } from '../../test/support/hostile-dc.ts'

/** Session frames between two probes (a call the fuzzer answers properly, which must settle). */
const PROBE_EVERY = 200
/** One connection frame (over TCP) per this many session frames. */
const CONNECTION_EVERY = 200
/** Pending calls the session keeps so that answers have something to name. */
const PENDING_CALLS = 8
const CALL_TIMEOUT_MS = 3000
const CONNECTION_REQUEST_TIMEOUT_MS = 300

/** Errors our client is allowed to reject a call with (by name: subclasses keep their own). */
const TYPED_ERRORS = new Set([
  'RpcError',
  'RequestTimeoutError',
  'TimeoutError',
  'ConnectTimeoutError',
  'ResendLimitError',
  'SessionClosedError',
  'ConnectionLostError',
  'ReconnectGaveUpError',
  'AuthKeyUnknownError',
  'TransportError',
  'TlDecodeError',
  'ConnectionClosedError',
  'TransportProtocolError',
  'SecurityCheckError',
  'AuthKeyExchangeError',
])

/** What each method the fuzzer calls may settle with. */
const RESULT_TYPES: Readonly<Record<string, readonly string[]>> = {
  'help.getNearestDc': ['nearestDc'],
  ping: ['pong'],
  get_future_salts: ['future_salts'],
  msgs_state_req: ['msgs_state_info'],
  destroy_session: ['destroy_session_ok', 'destroy_session_none'],
}

const SESSION_KINDS = {
  'valid-result': 60,
  'mutated-result': 200,
  service: 150,
  'mutated-service': 200,
  'random-body': 60,
  gzip: 60,
  'gzip-mutated': 40,
  container: 80,
  'container-mutated': 40,
  bomb: 1,
  'deep-nesting': 1,
  'bad-header': 60,
  'mutated-packet': 40,
  'random-packet': 30,
} as const
type SessionKind = keyof typeof SESSION_KINDS

const CONNECTION_KINDS = {
  valid: 20,
  'random-payload': 20,
  'mutated-frame': 20,
  'transport-error': 15,
  junk: 10,
  'endless-frame': 3,
  close: 5,
  silence: 3,
} as const
type ConnectionKind = keyof typeof CONNECTION_KINDS

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
}

function align4(b: Uint8Array): Uint8Array {
  if (b.length % 4 === 0) return b
  const out = new Uint8Array(b.length + (4 - (b.length % 4)))
  out.set(b)
  return out
}

function tlBytes(data: Uint8Array): Uint8Array {
  const w = tlCodec.newWriter(data.length + 8)
  w.bytes(data)
  return w.take()
}

function gzipPacked(inner: Uint8Array, level = 6): Uint8Array {
  const packed = tlBytes(gzipSync(inner, { level }))
  const out = new Uint8Array(4 + packed.length)
  new DataView(out.buffer).setUint32(0, 0x3072cfa1, true)
  out.set(packed, 4)
  return out
}

function rpcResult(reqMsgId: bigint, result: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + result.length)
  const dv = new DataView(out.buffer)
  dv.setUint32(0, 0xf35c6d01, true)
  dv.setBigInt64(4, reqMsgId, true)
  out.set(result, 12)
  return out
}

/** The client's cipher, as DcConnection makes it. */
class FuzzedClientCipher implements SessionCipher {
  constructor(private readonly key: AuthKey) {}
  encrypt(m: PlainEnvelope): Uint8Array {
    return encryptMessage(this.key, 'client', m).packet
  }
  decrypt(p: Uint8Array): PlainEnvelope {
    return decryptMessage(this.key, 'server', p.subarray(0, 24 + ((p.length - 24) & ~15)))
  }
}

/** A pending call of the session, and whether it settled. */
interface Call {
  method: string
  msgId: bigint
  pingId: bigint
  settled: boolean
}

class SessionTarget {
  readonly key = new AuthKey(new Uint8Array(256).map((_, i) => (i * 131 + 7) & 0xff))
  readonly serverClock = new MessageIdClock(1)
  session!: MtprotoSession
  /** Calls by msg_id as last sent (a resend gives a call a new msg_id). */
  readonly calls = new Map<bigint, Call>()
  private lastServerMsgId = 0n
  private seq = 0
  /** Bombs and nestings are built once: they cost more to build than to refuse. */
  private readonly bomb: Uint8Array
  private readonly deep: Uint8Array

  constructor(
    private readonly rnd: FuzzRandom,
    private readonly report: FuzzReport,
  ) {
    this.newSession()
    const skipped = rpcResult(1n, new Uint8Array(16 * 1024 * 1024))
    this.bomb = gzipPacked(gzipPacked(skipped, 9), 9)
    let deep = rpcResult(1n, new Uint8Array(8))
    for (let i = 0; i < 3000; i++)
      deep = gzipPacked(packContainer([{ msgId: this.serverClock.next(), seqNo: 0, body: deep }]), 0)
    this.deep = deep
  }

  /** A new session (as after a reconnect with a new key): the old one's timers are dropped with it. */
  newSession(): void {
    this.session?.close()
    this.calls.clear()
    this.byBody.clear()
    this.session = new MtprotoSession(
      new FuzzedClientCipher(this.key),
      {
        transmit: (packet) => this.onTransmit(packet),
        onSecurityViolation: () => {
          this.report.count('session-violations')
          // what the connection does next: reconnect, and send every pending call again
          this.session.resendPending()
        },
        onUpdate: () => this.report.count('session-updates'),
        onNewSession: () => this.report.count('session-new-session'),
      },
      { salt: 0n, timeOffset: 0 },
    )
  }

  /** Learns the msg_ids of the client's calls from what it sends (a resend moves a call to its new msg_id). */
  private onTransmit(packet: Uint8Array): void {
    const env = decryptMessage(this.key, 'client', packet)
    const messages: InnerMessage[] = isContainer(env.body) ? unpackContainer(env.body) : [env]
    for (const m of messages) {
      const same = this.byBody.get(hex(m.body))
      if (!same || same.length === 0) continue
      // equal bodies (two help.getNearestDc): the one without an id first, else the oldest
      const call = same.find((c) => c.msgId === 0n) ?? same[0]!
      this.calls.delete(call.msgId)
      call.msgId = m.msgId
      this.calls.set(m.msgId, call)
    }
  }

  /** Unsettled calls by the hex of their body, to recognise them in transmitted packets. */
  private readonly byBody = new Map<string, Call[]>()

  private forget(call: Call, key: string): void {
    this.calls.delete(call.msgId)
    const same = this.byBody.get(key)
    if (!same) return
    const i = same.indexOf(call)
    if (i >= 0) same.splice(i, 1)
    if (same.length === 0) this.byBody.delete(key)
  }

  /** Keeps PENDING_CALLS calls in flight. */
  topUp(): void {
    let open = 0
    for (const c of this.calls.values()) if (!c.settled) open++
    for (; open < PENDING_CALLS; open++)
      this.call(this.rnd.pick(['help.getNearestDc', 'ping', 'get_future_salts', 'msgs_state_req', 'destroy_session']))
    this.session.flush()
  }

  call(method: string, timeoutMs = CALL_TIMEOUT_MS): { call: Call; done: Promise<unknown> } {
    const request: TlValue =
      method === 'ping'
        ? { _: 'ping', pingId: this.long() }
        : method === 'get_future_salts'
          ? { _: 'get_future_salts', num: 1 + this.rnd.below(4) }
          : method === 'msgs_state_req'
            ? { _: 'msgs_state_req', msgIds: [BigInt(this.rnd.uint32())] }
            : method === 'destroy_session'
              ? { _: 'destroy_session', sessionId: BigInt(this.rnd.uint32()) }
              : { _: method }
    const call: Call = { method, msgId: 0n, pingId: (request['pingId'] as bigint | undefined) ?? 0n, settled: false }
    // The session encodes the request itself: encode it the same way to recognise it when it is transmitted.
    const key = hex(tlCodec.encode(request))
    const same = this.byBody.get(key)
    if (same) same.push(call)
    else this.byBody.set(key, [call])
    const done = this.session.invoke(request, { timeoutMs }).then(
      (v) => {
        call.settled = true
        this.forget(call, key)
        // a call settled with an answer of another method's type: type confusion (a pong passing for a result)
        const got = (v as TlValue | undefined)?._
        if (!RESULT_TYPES[method]?.includes(got ?? '')) this.report.crash(`${method} settled with ${String(got)}`)
        return v
      },
      (err: unknown) => {
        call.settled = true
        this.forget(call, key)
        const name = err instanceof Error ? err.name : typeof err
        if (!TYPED_ERRORS.has(name))
          this.report.crash(`a session call (${method}) was rejected with ${name}: ${String(err)}`)
        this.report.count(`session-call-${name}`)
        return err
      },
    )
    return { call, done }
  }

  /** A msg_id an answer may name: mostly a pending call's, sometimes anything. */
  private namedId(): bigint {
    if (this.calls.size > 0 && this.rnd.chance(0.85)) {
      const ids = [...this.calls.keys()]
      return ids[this.rnd.below(ids.length)]!
    }
    return BigInt.asIntN(64, (BigInt(this.rnd.uint32()) << 32n) | BigInt(this.rnd.uint32()))
  }

  private long(): bigint {
    return BigInt.asIntN(64, (BigInt(this.rnd.uint32()) << 32n) | BigInt(this.rnd.uint32()))
  }

  private serviceObject(): TlValue {
    const id = this.namedId()
    const r = this.rnd
    switch (r.below(14)) {
      case 0:
        return { _: 'pong', msgId: id, pingId: r.chance(0.5) ? this.long() : 0n }
      case 1:
        return {
          _: 'bad_server_salt',
          badMsgId: id,
          badMsgSeqno: r.below(100),
          errorCode: 48,
          newServerSalt: this.long(),
        }
      case 2:
        return {
          _: 'bad_msg_notification',
          badMsgId: id,
          badMsgSeqno: r.below(100),
          errorCode: r.pick([16, 17, 18, 19, 20, 32, 33, 34, 35, 48, 64, 0, -1]),
        }
      case 3:
        return { _: 'new_session_created', firstMsgId: id, uniqueId: this.long(), serverSalt: this.long() }
      case 4:
        return {
          _: 'future_salts',
          reqMsgId: id,
          now: r.uint32() | 0,
          salts: Array.from({ length: r.below(4) }, () => ({
            _: 'future_salt',
            validSince: r.uint32() | 0,
            validUntil: r.uint32() | 0,
            salt: this.long(),
          })),
        }
      case 5:
        return { _: 'msgs_ack', msgIds: Array.from({ length: 1 + r.below(8) }, () => this.namedId()) }
      case 6:
        return { _: 'msg_resend_req', msgIds: Array.from({ length: 1 + r.below(4) }, () => this.namedId()) }
      case 7:
        return { _: 'msgs_state_req', msgIds: Array.from({ length: r.below(8) }, () => this.namedId()) }
      case 8:
        return { _: 'msg_detailed_info', msgId: id, answerMsgId: this.long(), bytes: r.below(1000), status: 0 }
      case 9:
        return { _: 'msg_new_detailed_info', answerMsgId: this.long(), bytes: r.below(1000), status: 0 }
      case 10:
        return { _: 'destroy_session_ok', sessionId: this.long() }
      case 11:
        return { _: 'msgs_state_info', reqMsgId: id, info: r.bytes(r.below(8)) }
      case 12:
        return { _: 'msgs_all_info', msgIds: [id], info: r.bytes(1) }
      default:
        return { _: 'updatesTooLong' }
    }
  }

  private resultBody(): Uint8Array {
    const id = this.namedId()
    const r = this.rnd
    switch (r.below(5)) {
      case 0:
        return rpcResult(id, tlCodec.encode({ _: 'nearestDc', country: 'XX', thisDc: 2, nearestDc: 2 }))
      case 1:
        return rpcResult(
          id,
          tlCodec.encode({
            _: 'rpc_error',
            errorCode: r.pick([400, 401, 420, 500, 303, -503]),
            errorMessage: r.pick(['FLOOD_WAIT_3', 'X', 'PHONE_MIGRATE_4', '']),
          }),
        )
      case 2:
        return rpcResult(id, tlCodec.encode({ _: 'pong', msgId: id, pingId: this.long() }))
      case 3:
        return rpcResult(id, gzipPacked(tlCodec.encode({ _: 'nearestDc', country: 'YY', thisDc: 1, nearestDc: 3 })))
      default:
        return rpcResult(id, r.bytes(r.size(64) & ~3))
    }
  }

  private bodyOf(kind: SessionKind): Uint8Array {
    const r = this.rnd
    switch (kind) {
      case 'valid-result':
        return this.resultBody()
      case 'mutated-result':
        return mutate(r, this.resultBody())
      case 'service':
        return tlCodec.encode(this.serviceObject())
      case 'mutated-service':
        return mutate(r, tlCodec.encode(this.serviceObject()))
      case 'random-body':
        return r.bytes(r.size(512))
      case 'gzip':
        return gzipPacked(r.chance(0.5) ? this.resultBody() : tlCodec.encode(this.serviceObject()))
      case 'gzip-mutated':
        return mutate(r, gzipPacked(this.resultBody()))
      case 'container':
      case 'container-mutated': {
        const messages: InnerMessage[] = []
        const n = 1 + r.below(r.chance(0.05) ? 1100 : 12)
        for (let i = 0; i < n; i++) {
          const inner = this.bodyOf(
            r.pick(['valid-result', 'mutated-result', 'service', 'mutated-service', 'gzip'] as const),
          )
          messages.push({
            msgId: r.chance(0.9) ? this.serverClock.next() : this.long(),
            seqNo: r.below(10),
            body: align4(inner),
          })
        }
        const body = packContainer(messages.slice(0, 1024))
        return kind === 'container' ? body : mutate(r, body)
      }
      case 'bomb':
        return this.bomb
      case 'deep-nesting':
        return this.deep
      default:
        return this.resultBody()
    }
  }

  /** One fuzzed packet for the session. */
  packet(kind: SessionKind): Uint8Array {
    const r = this.rnd
    const body = align4(this.bodyOf(kind))
    let msgId = this.serverClock.next()
    let sessionId = this.session.sessionId
    if (kind === 'bad-header') {
      switch (r.below(4)) {
        case 0:
          sessionId = this.long()
          break
        case 1:
          msgId = msgId + 1n
          break // even
        case 2:
          msgId = this.lastServerMsgId
          break // replay
        default:
          msgId = msgId + (BigInt(r.pick([-1000, -301, 31, 100])) << 32n)
      }
    } else this.lastServerMsgId = msgId
    const packet = encryptMessage(this.key, 'server', {
      salt: 0n,
      sessionId,
      msgId,
      seqNo: this.seq++ * 2 + r.below(2),
      body,
    }).packet
    if (kind === 'mutated-packet') return mutate(r, packet)
    if (kind === 'random-packet') return r.bytes(r.size(2048))
    return packet
  }

  /** A proper answer to `call`. */
  answer(call: Call): Uint8Array {
    let body: Uint8Array
    if (call.method === 'ping')
      body = rpcResult(call.msgId, tlCodec.encode({ _: 'pong', msgId: call.msgId, pingId: call.pingId }))
    else body = rpcResult(call.msgId, tlCodec.encode({ _: 'nearestDc', country: 'XX', thisDc: 2, nearestDc: 2 }))
    const msgId = this.serverClock.next()
    this.lastServerMsgId = msgId
    return encryptMessage(this.key, 'server', {
      salt: 0n,
      sessionId: this.session.sessionId,
      msgId,
      seqNo: this.seq++ * 2 + 1,
      body,
    }).packet
  }
}

/** The connection target: a DcConnection to an in-process hostile DC whose answers the fuzzer writes. */
class ConnectionTarget {
  dc!: HostileDc
  conn: DcConnection | undefined
  private nextKind: ConnectionKind = 'valid'

  constructor(
    private readonly rnd: FuzzRandom,
    private readonly report: FuzzReport,
  ) {}

  async start(): Promise<void> {
    this.dc = await HostileDc.start({ onMessage: (c, m) => this.answer(c, m) })
  }

  private answer(c: HostileConnection, m: ClientMessage): void {
    if (m.method !== 'help.getNearestDc') {
      if (m.method === 'ping')
        c.sendObject({ _: 'pong', msgId: m.msgId, pingId: (m.obj as TlValue)['pingId'] as bigint })
      return
    }
    const r = this.rnd
    const valid = (): Uint8Array =>
      c.encrypted(rpcResult(m.msgId, tlCodec.encode({ _: 'nearestDc', country: 'XX', thisDc: 2, nearestDc: 2 }))).packet
    switch (this.nextKind) {
      case 'valid':
        c.sendPayload(valid())
        break
      case 'random-payload':
        c.sendPayload(r.bytes(1 + r.size(4096)))
        break
      case 'mutated-frame':
        c.sendWire(mutate(r, c.codec.encode(valid())))
        break
      case 'transport-error':
        c.sendTransportError(r.pick([-404, -429, -444, -1, -500, -0x7fffffff]))
        break
      case 'junk':
        c.sendWire(r.bytes(1 + r.size(256)))
        break
      case 'endless-frame': {
        const len = new Uint8Array(4)
        new DataView(len.buffer).setUint32(0, 1 + r.below(16 * 1024 * 1024), true)
        c.sendWire(len)
        break
      }
      case 'close':
        c.close()
        break
      default:
        break // silence
    }
  }

  /** One call answered with a fuzzed frame: it must settle within its deadline (+ hangMs). */
  async frame(kind: ConnectionKind, hangMs: number): Promise<void> {
    this.nextKind = kind
    if (!this.conn) {
      this.conn = this.dc.open({
        requestTimeoutMs: CONNECTION_REQUEST_TIMEOUT_MS,
        handshakeTimeoutMs: 500,
        connectTimeoutMs: 1000,
        reconnect: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 10 },
      })
      const conn = this.conn
      conn.on('closed', (err) => {
        this.report.count(`connection-closed-${err?.name ?? 'clean'}`)
        if (this.conn === conn) this.conn = undefined
      })
    }
    const conn = this.conn
    let timer: NodeJS.Timeout | undefined
    const outcome = await Promise.race([
      conn.invoke({ _: 'help.getNearestDc' }).then(
        () => 'answered',
        (err: unknown) => {
          const name = err instanceof Error ? err.name : typeof err
          if (!TYPED_ERRORS.has(name)) this.report.crash(`a connection call was rejected with ${name}: ${String(err)}`)
          return `rejected-${name}`
        },
      ),
      new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve('hang'), CONNECTION_REQUEST_TIMEOUT_MS + hangMs)
      }),
    ])
    clearTimeout(timer)
    if (outcome === 'hang') {
      this.report.hang(
        `a call on the connection (answer: ${kind}) settled neither way within ${CONNECTION_REQUEST_TIMEOUT_MS + hangMs} ms`,
      )
      conn.close()
      this.conn = undefined
    }
    this.report.count(`connection-${outcome}`)
  }

  async stop(): Promise<void> {
    this.conn?.close()
    await this.dc.stop()
  }
}

export async function run(opts: FuzzOptions, report: FuzzReport): Promise<void> {
  const rnd = new FuzzRandom(opts.seed)
  const onCrash = (err: unknown): void =>
    report.crash(`uncaught in the client: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
  process.on('uncaughtException', onCrash)
  process.on('unhandledRejection', onCrash)
  const sampler = setInterval(() => {
    const m = process.memoryUsage()
    report.sampleRss(m.rss, m.heapUsed)
    if (opts.verbose)
      console.error(
        `[fuzz] client: ${report.frames} frames, ${report.crashes} crashes, ${report.hangs} hangs, rss ${Math.round(m.rss / 1048576)} MB`,
      )
  }, 1000)
  sampler.unref()
  report.sampleRss(process.memoryUsage().rss, process.memoryUsage().heapUsed)

  const session = new SessionTarget(rnd, report)
  const connection = new ConnectionTarget(rnd, report)
  await connection.start()
  let sinceProbe = 0
  try {
    while (!report.done) {
      if (report.frames % CONNECTION_EVERY === CONNECTION_EVERY - 1) {
        const kind = rnd.weighted(CONNECTION_KINDS)
        report.sent(`connection-${kind}`, new Uint8Array(0))
        await connection.frame(kind, opts.hangMs)
        continue
      }
      session.topUp()
      const kind = rnd.weighted(SESSION_KINDS)
      const packet = session.packet(kind)
      report.sent(`session-${kind}`, packet)
      const t = performance.now()
      try {
        const ok = session.session.receive(packet)
        report.count(ok ? 'session-accepted' : 'session-dropped')
      } catch (err) {
        report.crash(
          `MtprotoSession.receive threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)} (${kind})`,
        )
        session.newSession()
      }
      const ms = performance.now() - t
      report.peak('session-max-receive-ms', Math.round(ms))
      if (ms > opts.hangMs) report.hang(`one ${kind} packet blocked the loop for ${Math.round(ms)} ms`)
      if (++sinceProbe >= PROBE_EVERY) {
        sinceProbe = 0
        await probe(session, report, opts.hangMs)
        // let timers and the sampler run
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
  } finally {
    clearInterval(sampler)
    session.session.close()
    await connection.stop()
    process.off('uncaughtException', onCrash)
    process.off('unhandledRejection', onCrash)
    report.sampleRss(process.memoryUsage().rss, process.memoryUsage().heapUsed)
  }
}

/** A call the fuzzer answers properly must settle within hangMs, whatever came before. */
async function probe(session: SessionTarget, report: FuzzReport, hangMs: number): Promise<void> {
  const { call, done } = session.call('ping', hangMs * 4)
  session.session.flush()
  if (call.msgId === 0n) {
    report.hang('the probe call was never transmitted')
    return
  }
  session.session.receive(session.answer(call))
  let timer: NodeJS.Timeout | undefined
  const settled = await Promise.race([
    done.then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), hangMs)
    }),
  ])
  clearTimeout(timer)
  if (!settled) report.hang('a properly answered probe call did not settle')
  report.count('probes')
}

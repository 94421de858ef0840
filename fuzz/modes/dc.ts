// `npm run fuzz -- dc`: random and mutated frames against the test DC, in every transport, plain and encrypted
// with real keys from real key exchanges. The DC runs in a child process (fuzz/dc-under-fuzz.ts), so a crash is its
// exit and its RSS is its own.
//
// What counts as what:
// - crash: the DC process exits, or reports an uncaught exception / unhandled rejection, or sends bytes that do not
//   frame in the client's transport.
// - hang: the DC stops serving a connection it has not closed. Every PROBE_EVERY frames (sent whole, whatever is in
//   them) a worker sends a ping in a probe session of its connection; the pong, or a close of the connection, must
//   come within --hang-ms. Frames that break the framing itself (junk in the stream, a partial frame) leave the DC
//   rightly waiting for bytes, so such a connection is abandoned and must be closed by the DC within its idle or
//   detect timeout plus --hang-ms. A fresh connection's req_pq_multi must be answered within --hang-ms every second.
// - memory: the DC's RSS is sampled every second, and its heap after a forced GC halfway through and at the end (after
//   every connection closed); bounded when the end's is within 64 MiB of the middle's (the DC's bounded caches —
//   sessions, keys, session history — fill up first; every layer codec is loaded before the run).
import { fork, type ChildProcess } from 'node:child_process'
import { gzipSync, deflateSync } from 'node:zlib'
import type { FuzzOptions, FuzzReport } from '../fuzz-report.ts'
import { FuzzRandom, mutate } from '../fuzz-random.ts'
import type { DcUnderFuzzMessage, DcUnderFuzzRequest } from '../dc-under-fuzz.ts'
import type { DcLimits } from '../../src/testdc/dc-limits.ts'
import type { RsaPublicKey } from '../../src/mtproto/crypto/rsa-keys.ts'
import type { CreatedAuthKey } from '../../src/mtproto/handshake/auth-key-exchange.ts'
import { encryptMessage } from '../../src/mtproto/crypto/message-cipher.ts'
import { packPlainMessage } from '../../src/mtproto/session/plain-message.ts'
import { packContainer } from '../../src/mtproto/session/message-container.ts'
import { tlCodec, type TlValue } from '../../src/mtproto/tl/index.ts'
import {
  HostileClient,
  HostileSession,
  serviceObjects,
  type HostileTransport,
} from '../../test/support/hostile-client.ts'

const DC_ID = 2
/**
 * The DC's limits for the run: short timeouts so abandoned connections end soon, small LRUs so eviction runs.
 * FUZZ_DC_LIMITS (JSON, e.g. '{"maxSessions":200}') overrides knobs.
 */
const LIMITS: Partial<DcLimits> = {
  idleTimeoutMs: 3000,
  detectTimeoutMs: 2000,
  maxSessions: 2000,
  maxAuthKeys: 200,
  maxSessionHistoryBytes: 8 * 1024 * 1024,
  ...(JSON.parse(process.env['FUZZ_DC_LIMITS'] ?? '{}') as Partial<DcLimits>),
}
const WORKERS = 16
const PROBE_EVERY = 16
const POOL_KEYS = 3
const TRANSPORTS: readonly HostileTransport[] = [
  { framing: 'abridged' },
  { framing: 'intermediate' },
  { framing: 'padded' },
  { framing: 'full' },
  { framing: 'abridged', obfuscated: true },
  { framing: 'intermediate', obfuscated: true },
  { framing: 'padded', obfuscated: true },
]
/** Kinds of input and how often each is picked. */
const KINDS = {
  'plain-valid': 30,
  'plain-mutated': 100,
  'plain-random': 30,
  'enc-valid': 100,
  'enc-mutated-body': 300,
  'enc-mutated-header': 100,
  'enc-random-body': 60,
  'enc-mutated-packet': 80,
  'enc-gzip': 40,
  'enc-container': 50,
  'random-payload': 80,
  'stream-junk': 20,
  'bad-start': 5,
  'no-read': 2,
  'key-exchange': 3,
} as const
type Kind = keyof typeof KINDS

const APP = {
  apiId: 1,
  deviceModel: 'fuzz',
  systemVersion: 'linux',
  appVersion: '1.0',
  systemLangCode: 'en',
  langPack: '',
  langCode: 'en',
}

/** Valid requests the fuzzer starts from (mutated or not). */
function requestCorpus(rnd: FuzzRandom): TlValue[] {
  const longId = (): bigint => BigInt.asIntN(64, (BigInt(rnd.uint32()) << 32n) | BigInt(rnd.uint32()))
  return [
    { _: 'ping', pingId: longId() },
    { _: 'ping_delay_disconnect', pingId: longId(), disconnectDelay: 75 },
    { _: 'msgs_ack', msgIds: [longId(), longId()] },
    { _: 'get_future_salts', num: 1 + rnd.below(64) },
    { _: 'destroy_session', sessionId: longId() },
    { _: 'msgs_state_req', msgIds: [longId()] },
    { _: 'msg_resend_req', msgIds: [longId()] },
    { _: 'rpc_drop_answer', reqMsgId: longId() },
    { _: 'help.getConfig' },
    { _: 'help.getNearestDc' },
    { _: 'invokeWithLayer', layer: 223, query: { _: 'initConnection', ...APP, query: { _: 'help.getConfig' } } },
    {
      _: 'invokeWithLayer',
      layer: rnd.pick([1, 100, 144, 158, 198, 223, 500]),
      query: { _: 'initConnection', ...APP, query: { _: 'help.getNearestDc' } },
    },
    {
      _: 'auth.sendCode',
      phoneNumber: rnd.pick(['9996621234', '9996620000', '+1', '']),
      apiId: 1,
      apiHash: 'fuzz',
      settings: { _: 'codeSettings' },
    },
    { _: 'auth.signIn', phoneNumber: '9996621234', phoneCodeHash: 'x', phoneCode: '22222' },
    { _: 'auth.exportLoginToken', apiId: 1, apiHash: 'fuzz', exceptIds: [] },
    { _: 'account.getPassword' },
    { _: 'updates.getState' },
    { _: 'users.getFullUser', id: { _: 'inputUserSelf' } },
  ]
}

function plainCorpus(rnd: FuzzRandom): Uint8Array[] {
  return [
    tlCodec.encode({ _: 'req_pq_multi', nonce: rnd.bytes(16) }),
    tlCodec.encode({ _: 'req_pq', nonce: rnd.bytes(16) }),
    tlCodec.encode({
      _: 'req_DH_params',
      nonce: rnd.bytes(16),
      serverNonce: rnd.bytes(16),
      p: rnd.bytes(4),
      q: rnd.bytes(4),
      publicKeyFingerprint: 0n,
      encryptedData: rnd.bytes(256),
    }),
    tlCodec.encode({
      _: 'set_client_DH_params',
      nonce: rnd.bytes(16),
      serverNonce: rnd.bytes(16),
      encryptedData: rnd.bytes(336),
    }),
  ]
}

/** gzip_packed#3072cfa1 around `inner` (gzip or zlib, as clients send either). */
function gzipPacked(inner: Uint8Array, zlib: boolean): Uint8Array {
  const w = tlCodec.newWriter(inner.length + 64)
  w.uint(0x3072cfa1)
  w.bytes(zlib ? deflateSync(inner) : gzipSync(inner))
  return w.take()
}

/** Pads to a multiple of 4 (encrypted bodies must be). */
function align4(b: Uint8Array): Uint8Array {
  if (b.length % 4 === 0) return b
  const out = new Uint8Array(b.length + (4 - (b.length % 4)))
  out.set(b)
  return out
}

/** The DC in its own process. */
class DcProcess {
  readonly child: ChildProcess
  port = 0
  publicKey: RsaPublicKey | undefined
  exited = false
  private waiters: ((m: DcUnderFuzzMessage & { type: 'sample' }) => void)[] = []

  constructor(
    private readonly report: FuzzReport,
    onDeath: () => void,
  ) {
    this.child = fork(new URL('../dc-under-fuzz.ts', import.meta.url), [], {
      execArgv: ['--expose-gc', '--import', 'tsx'],
      env: { ...process.env, FUZZ_DC_LIMITS: JSON.stringify(LIMITS) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    this.child.on('message', (m: DcUnderFuzzMessage) => {
      if (m.type === 'crash') report.crash(`DC process: ${m.error}`)
      if (m.type === 'sample') this.waiters.shift()?.(m)
    })
    this.child.on('exit', (code, signal) => {
      this.exited = true
      if (!this.stopping) {
        report.crash(`DC process exited (code ${code}, signal ${signal})`)
        onDeath()
      }
      for (const w of this.waiters.splice(0))
        w({
          type: 'sample',
          rss: 0,
          heapUsed: 0,
          loopDelayMaxMs: 0,
          openConnections: 0,
          bufferedBytes: 0,
          keys: 0,
          sessions: 0,
          stats: {},
        })
    })
  }

  private stopping = false

  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onMessage = (m: DcUnderFuzzMessage): void => {
        if (m.type !== 'ready') return
        this.child.off('message', onMessage)
        this.port = m.port
        this.publicKey = {
          n: BigInt(m.publicKey.n),
          e: BigInt(m.publicKey.e),
          fingerprint: BigInt(m.publicKey.fingerprint),
          size: m.publicKey.size,
        }
        resolve()
      }
      this.child.on('message', onMessage)
      this.child.once('exit', () => reject(new Error('the DC process exited before it was ready')))
    })
  }

  sample(gc = false): Promise<DcUnderFuzzMessage & { type: 'sample' }> {
    return new Promise((resolve) => {
      if (this.exited)
        return resolve({
          type: 'sample',
          rss: 0,
          heapUsed: 0,
          loopDelayMaxMs: 0,
          openConnections: 0,
          bufferedBytes: 0,
          keys: 0,
          sessions: 0,
          stats: {},
        })
      this.waiters.push(resolve)
      const req: DcUnderFuzzRequest = { type: gc ? 'gc' : 'sample' }
      this.child.send(req)
    })
  }

  stop(): void {
    this.stopping = true
    this.child.disconnect()
  }
}

interface Conn {
  client: HostileClient
  transport: HostileTransport
  key: CreatedAuthKey
  /** Its liveness probes go in this session (fuzz frames use others), so nothing the fuzzer sends spoils it. */
  probe: HostileSession
  /** A few sessions for fuzz frames. */
  sessions: HostileSession[]
  sinceProbe: number
  /** The last inputs on this connection (kind and size), for a hang's report. */
  history: string[]
}

export async function run(opts: FuzzOptions, report: FuzzReport): Promise<void> {
  let stopped = false
  const dc = new DcProcess(report, () => (stopped = true))
  await dc.ready()
  const port = dc.port
  const rsaKeys = [dc.publicKey!]
  let middleTaken = false
  const sampler = setInterval(() => {
    // halfway: what the DC keeps once its caches are full, to compare with the end
    const gc = !middleTaken && report.frames >= opts.frames / 2
    if (gc) middleTaken = true
    void dc.sample(gc).then((s) => {
      if (gc && s.rss > 0) report.heapAfterGc.middle = s.heapUsed
      if (s.rss > 0) report.sampleRss(s.rss, s.heapUsed)
      report.peak('dcLoopBlockedMaxMs', s.loopDelayMaxMs)
    })
  }, 1000)
  const abandoned: { client: HostileClient; deadline: number; kind: string }[] = []
  const allClients = new Set<HostileClient>()

  const connect = async (transport: HostileTransport): Promise<HostileClient> => {
    const c = await HostileClient.connect(port, transport)
    allClients.add(c)
    void c.closed.then(() => {
      allClients.delete(c)
      if (c.badStream) report.crash(`the DC sent bytes that do not frame in ${describe(transport)}`)
    })
    return c
  }

  // real keys from real key exchanges, shared by the workers' connections
  const keys: CreatedAuthKey[] = []
  for (let i = 0; i < POOL_KEYS; i++) {
    const c = await connect(TRANSPORTS[i % TRANSPORTS.length]!)
    keys.push(await c.createKey({ dcId: DC_ID, rsaKeys, timeoutMs: opts.hangMs }))
    c.destroy()
  }
  report.count('keysExchanged', POOL_KEYS)

  // gzip bombs, made once: gzip_packed(ping ‖ zeros) inflating to 1, 16 and 256 MiB (the last ~250 KB packed)
  const bombOf = (mib: number): Uint8Array => {
    const plain = new Uint8Array(mib * 1024 * 1024)
    plain.set(tlCodec.encode({ _: 'ping', pingId: 1n }))
    return gzipPacked(plain, false)
  }
  const bombs = [bombOf(1), bombOf(16), bombOf(256)]

  // every second a fresh connection must get its req_pq_multi answered
  const liveness = (async () => {
    while (!report.done && !stopped) {
      await sleep(1000)
      if (report.done || stopped) break
      const started = Date.now()
      let c: HostileClient | undefined
      try {
        c = await connect({ framing: 'intermediate' })
        c.sendPlain(tlCodec.encode({ _: 'req_pq_multi', nonce: new FuzzRandom(started).bytes(16) }))
        const r = await c.next(opts.hangMs)
        if (r.type !== 'frame')
          report.hang(`a fresh connection's req_pq_multi got ${r.type} (${Date.now() - started} ms)`)
        else report.peak('livenessMaxMs', Date.now() - started)
      } catch (err) {
        report.hang(`a fresh connection failed: ${(err as Error).message}`)
      } finally {
        c?.destroy()
      }
    }
  })()

  // abandoned connections (framing broken on purpose) must be closed by the DC in time
  const watcher = setInterval(() => {
    const now = Date.now()
    for (let i = abandoned.length - 1; i >= 0; i--) {
      const a = abandoned[i]!
      if (a.client.isClosed) abandoned.splice(i, 1)
      else if (now > a.deadline) {
        report.hang(`a connection left after ${a.kind} was not closed by the DC within its timeout + ${opts.hangMs} ms`)
        a.client.destroy()
        abandoned.splice(i, 1)
      }
    }
  }, 250)
  const abandon = (client: HostileClient, kind: string): void => {
    const timeout = Math.max(LIMITS.idleTimeoutMs!, LIMITS.detectTimeoutMs!)
    abandoned.push({ client, deadline: Date.now() + timeout + opts.hangMs, kind })
  }

  const open = async (rnd: FuzzRandom): Promise<Conn> => {
    const transport = rnd.pick(TRANSPORTS)
    const client = await connect(transport)
    const key = rnd.pick(keys)
    return {
      client,
      transport,
      key,
      probe: new HostileSession(key),
      sessions: [0, 1, 2].map(() => new HostileSession(key)),
      sinceProbe: 0,
      history: [],
    }
  }

  /** Ping in the probe session; true when the pong or a close came in time. */
  const probe = async (conn: Conn): Promise<void> => {
    report.count('probes')
    const started = Date.now()
    const pingId = BigInt(Math.floor(Math.random() * 2 ** 52))
    let salt = conn.key.serverSalt
    let msgId = conn.probe.send(conn.client, { _: 'ping', pingId }, { salt })
    for (;;) {
      const left = started + opts.hangMs - Date.now()
      const e = left > 0 ? await conn.client.next(left) : { type: 'timeout' as const }
      if (e.type === 'closed') return report.count('closedByDc')
      if (e.type === 'timeout') {
        report.hang(
          `no pong and no close within ${opts.hangMs} ms on ${describe(conn.transport)}; its last inputs: ${conn.history.join(', ')}`,
        )
        conn.client.destroy()
        return
      }
      if (e.type === 'transportError') {
        report.count(`transportError${e.error.code}`)
        continue
      }
      if (e.type !== 'frame') continue
      let message
      try {
        message = conn.probe.open(e.payload)
      } catch {
        report.count('undecryptableAnswers') // under another key: an earlier fuzz frame's answer
        continue
      }
      if (message.sessionId !== conn.probe.sessionId) continue
      for (const o of serviceObjects(message)) {
        if (o._ === 'pong' && o['pingId'] === pingId) {
          report.peak('probeMaxMs', Date.now() - started)
          return
        }
        if (o._ === 'bad_server_salt' && o['badMsgId'] === msgId) {
          salt = o['newServerSalt'] as bigint
          conn.key = { ...conn.key, serverSalt: salt }
          msgId = conn.probe.send(conn.client, { _: 'ping', pingId }, { salt })
        }
      }
    }
  }

  const encrypted = (
    conn: Conn,
    rnd: FuzzRandom,
    body: Uint8Array,
    header: 'valid' | 'mutated' = 'valid',
  ): Uint8Array => {
    const session = rnd.pick(conn.sessions)
    let msgId = session.clock.next()
    let salt = conn.key.serverSalt
    let sessionId = session.sessionId
    let seqNo = 1 + 2 * rnd.below(1000)
    if (header === 'mutated') {
      switch (rnd.below(6)) {
        case 0:
          salt = BigInt.asIntN(64, BigInt(rnd.uint32()) << 32n)
          break
        case 1:
          msgId |= BigInt(1 + rnd.below(3))
          break // not divisible by 4
        case 2:
          msgId += BigInt((rnd.chance(0.5) ? 1 : -1) * (60 + rnd.below(100_000))) << 32n
          break // far from now
        case 3:
          sessionId = BigInt.asIntN(64, (BigInt(rnd.uint32()) << 32n) | BigInt(rnd.uint32()))
          break // a new session
        case 4:
          seqNo = rnd.uint32() | 0
          break
        default:
          msgId = session.clock.next() - 4n * BigInt(1 + rnd.below(2000)) // an old id (a replay, or below the window)
      }
    }
    return encryptMessage(conn.key.authKey, 'client', { salt, sessionId, msgId, seqNo, body: align4(body) }).packet
  }

  const worker = async (w: number): Promise<void> => {
    const rnd = new FuzzRandom((opts.seed + w * 0x9e3779b1) >>> 0)
    let conn: Conn | undefined
    while (!report.done && !stopped) {
      if (conn === undefined || conn.client.isClosed) {
        if (conn !== undefined) report.count('reconnects')
        conn = await open(rnd)
      }
      const kind = rnd.weighted(KINDS) as Kind
      const corpus = requestCorpus(rnd)
      const body = (): Uint8Array => tlCodec.encode(rnd.pick(corpus))
      let payload: Uint8Array | undefined
      switch (kind) {
        case 'plain-valid':
          payload = packPlainMessage(session0(conn).clock.next(), plainCorpus(rnd)[0]!)
          break
        case 'plain-mutated':
          payload = mutate(rnd, packPlainMessage(session0(conn).clock.next(), rnd.pick(plainCorpus(rnd))))
          break
        case 'plain-random':
          payload = packPlainMessage(session0(conn).clock.next(), rnd.bytes(rnd.size(600)))
          break
        case 'enc-valid':
          payload = encrypted(conn, rnd, body())
          break
        case 'enc-mutated-body':
          payload = encrypted(conn, rnd, mutate(rnd, body()))
          break
        case 'enc-mutated-header':
          payload = encrypted(conn, rnd, body(), 'mutated')
          break
        case 'enc-random-body':
          payload = encrypted(conn, rnd, rnd.bytes(rnd.size(4096)))
          break
        case 'enc-mutated-packet':
          payload = mutate(rnd, encrypted(conn, rnd, body()))
          break
        case 'enc-gzip': {
          // sometimes a bomb (a ping, then zeros: 1, 16 or 256 MiB inflated), else a request, maybe mutated
          let inner = rnd.chance(0.1) ? rnd.pick(bombs) : rnd.chance(0.3) ? mutate(rnd, body()) : body()
          const levels = 1 + rnd.below(rnd.chance(0.1) ? 12 : 3)
          for (let i = 0; i < levels; i++) inner = gzipPacked(inner, rnd.chance(0.3))
          payload = encrypted(conn, rnd, rnd.chance(0.2) ? mutate(rnd, inner) : inner)
          break
        }
        case 'enc-container': {
          const n = 1 + rnd.below(rnd.chance(0.1) ? 1100 : 8)
          const session = rnd.pick(conn.sessions)
          const messages = Array.from({ length: Math.min(n, 1024) }, () => ({
            msgId: session.clock.next(),
            seqNo: 1,
            body: rnd.chance(0.3) ? align4(mutate(rnd, body())) : body(),
          }))
          let container = packContainer(messages)
          if (rnd.chance(0.3)) container = mutate(rnd, container)
          payload = encrypted(conn, rnd, container)
          break
        }
        case 'random-payload':
          payload = rnd.bytes(Math.max(1, rnd.chance(0.01) ? rnd.below(1_044_480) : rnd.size(65_536)))
          break
        case 'stream-junk': {
          const junk =
            rnd.below(3) === 0
              ? new Uint8Array(
                  new Uint32Array([rnd.chance(0.5) ? 2_000_000 + rnd.below(1 << 30) : 64 + rnd.below(1_000_000)])
                    .buffer,
                ) // a length, then nothing
              : rnd.bytes(1 + rnd.size(4096))
          conn.client.sendInStream(junk)
          report.sent(kind, junk)
          abandon(conn.client, `${kind} on ${describe(conn.transport)}`)
          conn = undefined
          continue
        }
        case 'bad-start': {
          const c = await connect({ framing: 'intermediate' })
          const start = rnd.pick([
            new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n'),
            Uint8Array.of(0x16, 0x03, 0x01, 0x02, 0x00),
            rnd.bytes(rnd.below(64)),
            rnd.bytes(64),
          ])
          c.writeRaw(start)
          report.sent(kind, start)
          abandon(c, kind)
          continue
        }
        case 'no-read': {
          // a client that sends and never reads what comes back
          conn.client.socket.pause()
          for (let i = 0; i < 200; i++)
            conn.client.sendPacket(encrypted(conn, rnd, tlCodec.encode({ _: 'help.getConfig' })))
          report.sent(kind, new Uint8Array(0))
          abandon(conn.client, kind)
          // a paused socket never reads the DC's close: start reading once the DC should have closed it
          const paused = conn.client
          setTimeout(() => paused.socket.resume(), LIMITS.idleTimeoutMs! + 500)
          conn = undefined
          continue
        }
        case 'key-exchange': {
          const c = await connect(rnd.pick(TRANSPORTS))
          try {
            await c.createKey({ dcId: DC_ID, rsaKeys, timeoutMs: opts.hangMs })
            report.count('keysExchanged')
          } catch (err) {
            report.hang(`a real key exchange failed: ${(err as Error).message}`)
          }
          report.sent(kind, new Uint8Array(0))
          c.destroy()
          continue
        }
      }
      if (payload.length === 0) payload = new Uint8Array(4)
      conn.client.sendPacket(payload)
      report.sent(kind, payload)
      conn.history.push(`${kind}(${payload.length} B)`)
      if (conn.history.length > PROBE_EVERY) conn.history.shift()
      if (conn.client.socket.writableLength > 1 << 20) await drained(conn.client)
      if (++conn.sinceProbe >= PROBE_EVERY) {
        conn.sinceProbe = 0
        await probe(conn)
      }
    }
    conn?.client.destroy()
  }

  try {
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)))
    await liveness
    // the abandoned connections get their time to be closed
    const last = Math.max(0, ...abandoned.map((a) => a.deadline))
    while (abandoned.length > 0 && Date.now() <= last + 500 && !stopped) await sleep(100)
  } finally {
    clearInterval(watcher)
    clearInterval(sampler)
    for (const c of allClients) c.destroy()
    if (!dc.exited) {
      await sleep(500)
      const end = await dc.sample(true)
      report.sampleRss(end.rss, end.heapUsed)
      report.heapAfterGc.end = end.heapUsed
      report.count('dcOpenConnectionsAtEnd', end.openConnections)
      report.count('dcBufferedBytesAtEnd', end.bufferedBytes)
      report.count('dcKeysAtEnd', end.keys)
      report.count('dcSessionsAtEnd', end.sessions)
      for (const [k, v] of Object.entries(end.stats)) report.count(`dc.${k}`, v)
      dc.stop()
    }
  }
}

/** The session whose clock plain messages borrow (any increasing msg_id will do for them). */
function session0(conn: Conn): HostileSession {
  return conn.sessions[0]!
}

function describe(t: HostileTransport): string {
  return `${t.obfuscated ? 'obfuscated ' : ''}${t.framing}`
}

/** Resolves once the client's socket has written what it buffered, or closed. */
function drained(client: HostileClient): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      client.socket.off('drain', done)
      resolve()
    }
    client.socket.once('drain', done)
    void client.closed.then(done)
  })
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

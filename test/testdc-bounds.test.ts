// The test DC's bounds (src/testdc/dc-limits.ts) against a hostile client: every resource a client can make it
// hold — sockets, buffered bytes, inflated gzip, sessions, auth keys — is bounded, and what the DC does at the
// bound is what Telegram does (-429, -404, new_session_created, a closed connection).
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { gzipSync } from 'node:zlib'
import { startTestDc, type TestDc } from '../src/testdc/test-dc.ts'
import type { DcLimits } from '../src/testdc/dc-limits.ts'
import type { DcServer } from '../src/testdc/dc-server.ts'
import { randomBytes } from '../src/mtproto/crypto/random.ts'
import { tlCodec, type TlValue } from '../src/mtproto/tl/index.ts'
import {
  HostileClient,
  HostileSession,
  readUntil,
  randomLong,
  serviceObjects,
  transportErrorCode,
  type HostileTransport,
} from './support/hostile-client.ts'

const DC_ID = 2
const clients: HostileClient[] = []
after(() => {
  for (const c of clients) c.destroy()
})

async function withDc(limits: Partial<DcLimits>, fn: (server: DcServer, dc: TestDc) => Promise<void>): Promise<void> {
  const dc = await startTestDc({ dcIds: [DC_ID], limits })
  try {
    await fn(dc.dc(DC_ID), dc)
  } finally {
    for (const c of clients.splice(0)) c.destroy()
    await dc.stop()
  }
}

async function open(server: DcServer, transport?: HostileTransport): Promise<HostileClient> {
  const c = await HostileClient.connect(server.port, transport)
  clients.push(c)
  return c
}

function reqPq(): Uint8Array {
  return tlCodec.encode({ _: 'req_pq_multi', nonce: randomBytes(16) })
}

/** Sends req_pq_multi and says what came back: 'answered', a transport error code, 'closed' or 'timeout'. */
async function probe(c: HostileClient, ms = 3000): Promise<string | number> {
  c.sendPlain(reqPq())
  const r = await c.next(ms)
  if (r.type === 'frame') return 'answered'
  return transportErrorCode(r) ?? r.type
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) return false
    await new Promise((r) => setTimeout(r, 10))
  }
  return true
}

function sessionsHeld(server: DcServer): number {
  let n = 0
  for (const key of server.keys.values()) n += key.sessions.size
  return n
}

const TRANSPORTS: HostileTransport[] = [
  { framing: 'abridged' },
  { framing: 'intermediate' },
  { framing: 'padded' },
  { framing: 'abridged', obfuscated: true },
  { framing: 'intermediate', obfuscated: true },
  { framing: 'padded', obfuscated: true },
]

test('a connection silent after its transport is detected is closed after idleTimeoutMs; one that keeps talking stays', async () => {
  await withDc({ idleTimeoutMs: 300 }, async (server) => {
    const silent = await Promise.all(TRANSPORTS.map((t) => open(server, t)))
    for (const c of silent) c.sendTransportStart()
    // full has no start: its first frame is what the DC detects it by
    const full = await open(server, { framing: 'full' })
    assert.equal(await probe(full), 'answered')
    silent.push(full)
    const talker = await open(server)
    const started = Date.now()
    while (Date.now() - started < 900) {
      assert.equal(await probe(talker), 'answered', 'a connection that keeps sending is not idle')
      await new Promise((r) => setTimeout(r, 100))
    }
    for (const c of silent) assert.ok(await c.waitClosed(2000), 'a silent connection is closed')
    assert.equal(talker.isClosed, false)
    assert.ok(
      await until(() => server.stats.idleTimeouts === silent.length, 1000),
      `idle timeouts: ${server.stats.idleTimeouts}`,
    )
    assert.ok(await until(() => server.openConnections === 1, 1000), `open connections: ${server.openConnections}`)
  })
})

test('a connection that does not identify its transport within detectTimeoutMs is closed', async () => {
  await withDc({ detectTimeoutMs: 200 }, async (server) => {
    const nothing = await open(server)
    const halfHeader = await open(server)
    halfHeader.writeRaw(randomBytes(30)) // 30 of the 64 bytes of an obfuscated header
    assert.ok(await nothing.waitClosed(2000), 'a connection that sent nothing is closed')
    assert.ok(await halfHeader.waitClosed(2000), 'a connection that sent half a header is closed')
    assert.ok(
      await until(() => server.stats.detectTimeouts === 2, 1000),
      `detect timeouts: ${server.stats.detectTimeouts}`,
    )
  })
})

test('past maxConnections a connection gets transport error -429 and is closed; a freed slot is given again', async () => {
  await withDc({ maxConnections: 2 }, async (server) => {
    const a = await open(server)
    const b = await open(server, { framing: 'abridged', obfuscated: true })
    assert.equal(await probe(a), 'answered')
    assert.equal(await probe(b), 'answered')
    for (const t of [
      { framing: 'intermediate' },
      { framing: 'padded', obfuscated: true },
      { framing: 'full' },
    ] as HostileTransport[]) {
      const extra = await open(server, t)
      assert.equal(await probe(extra), -429, `${t.framing}${t.obfuscated ? ' obfuscated' : ''}`)
      assert.ok(await extra.waitClosed(2000), 'closed after -429')
    }
    assert.ok(await until(() => server.stats.connectionsRefused === 3, 1000))
    a.destroy()
    assert.ok(await until(() => server.openConnections === 1, 2000))
    const d = await open(server)
    assert.equal(await probe(d), 'answered')
  })
})

test("a frame declared longer than maxFrameBytes (default: MTProxy's 1 MiB − 4 KiB) closes the connection before it is buffered", async () => {
  await withDc({}, async (server) => {
    assert.equal(server.limits.maxFrameBytes, 1_044_480)
    const word = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer)
    const over = await open(server)
    over.sendInStream(word(1_044_480 + 4))
    assert.ok(await over.waitClosed(2000), 'closed on the length word alone')
    const at = await open(server)
    at.sendInStream(word(1_044_480))
    at.sendInStream(new Uint8Array(100_000))
    assert.equal(await at.waitClosed(300), false, 'a frame of exactly the limit may be sent')
  })
  await withDc({ maxFrameBytes: 4096 }, async (server) => {
    const c = await open(server, { framing: 'abridged', obfuscated: true })
    c.sendInStream(Uint8Array.of(0x7f, (4100 / 4) & 0xff, (4100 / 4) >> 8, 0)) // abridged: 0x7f + length in words (3 bytes)
    assert.ok(await c.waitClosed(2000))
  })
})

test('bytes held for all connections stay under maxBufferedBytes: the connection that grows past it is closed, the rest go on', async () => {
  const cap = 256 * 1024
  await withDc({ maxBufferedBytes: cap }, async (server) => {
    const tricklers = await Promise.all([0, 1, 2, 3].map(() => open(server)))
    let peak = 0
    for (let round = 0; round < 10; round++) {
      for (const c of tricklers) {
        if (round === 0) c.sendInStream(new Uint8Array(new Uint32Array([1_000_000]).buffer))
        c.sendInStream(new Uint8Array(20_000))
      }
      await new Promise((r) => setTimeout(r, 20))
      peak = Math.max(peak, server.bufferedBytes)
    }
    assert.ok(await until(() => tricklers.filter((c) => c.isClosed).length >= 1, 2000), 'a trickler is closed')
    assert.ok(server.stats.bufferLimitCloses >= 1)
    assert.ok(peak <= cap, `held ${peak} bytes, cap ${cap}`)
    const fresh = await open(server)
    for (const c of tricklers) c.destroy()
    assert.ok(await until(() => server.bufferedBytes === 0, 2000), `after the tricklers left: ${server.bufferedBytes}`)
    assert.equal(await probe(fresh), 'answered')
  })
})

/** A connection with a real key and one session, its first message answered. */
async function keyed(
  server: DcServer,
  dc: TestDc,
  transport?: HostileTransport,
): Promise<{ c: HostileClient; session: HostileSession }> {
  const c = await open(server, transport)
  const key = await c.createKey({ dcId: DC_ID, rsaKeys: [dc.publicKey] })
  return { c, session: new HostileSession(key) }
}

async function ping(
  c: HostileClient,
  session: HostileSession,
): Promise<{ announced: boolean; pong: boolean; ended: string | undefined }> {
  session.send(c, { _: 'ping', pingId: randomLong() })
  const r = await readUntil(c, session, (o) => o._ === 'pong')
  return { announced: r.seen.some((o) => o._ === 'new_session_created'), pong: r.found !== undefined, ended: r.ended }
}

test('sessions past maxSessions are forgotten least recently used first; a message in a forgotten one gets new_session_created', async () => {
  await withDc({ maxSessions: 3 }, async (server, dc) => {
    const { c, session: s1 } = await keyed(server, dc)
    const sessions = [s1, ...[2, 3, 4, 5].map(() => new HostileSession(s1.key))]
    for (const s of sessions) assert.deepEqual(await ping(c, s), { announced: true, pong: true, ended: undefined })
    assert.ok(sessionsHeld(server) <= 3, `sessions held: ${sessionsHeld(server)}`)
    assert.equal(server.stats.sessionsForgotten, 2)
    assert.deepEqual(
      await ping(c, sessions[4]!),
      { announced: false, pong: true, ended: undefined },
      'a remembered session is not announced again',
    )
    assert.deepEqual(
      await ping(c, sessions[0]!),
      { announced: true, pong: true, ended: undefined },
      'a forgotten session starts anew',
    )
    // 2,000 random session ids: the DC keeps 3
    for (let i = 0; i < 2000; i++)
      new HostileSession(s1.key).send(c, { _: 'msgs_ack', msgIds: [] }, { contentRelated: false })
    assert.deepEqual(await ping(c, sessions[0]!), { announced: true, pong: true, ended: undefined })
    assert.ok(sessionsHeld(server) <= 3, `sessions held: ${sessionsHeld(server)}`)
  })
})

test('auth keys past maxAuthKeys are forgotten least recently used first, with their login; a forgotten key gets -404', async () => {
  await withDc({ maxAuthKeys: 2 }, async (server, dc) => {
    const one = await keyed(server, dc)
    server.cluster.bindKey(DC_ID, one.session.authKey.idLong, 777n)
    const two = await keyed(server, dc, { framing: 'padded', obfuscated: true })
    assert.equal((await ping(one.c, one.session)).pong, true, 'key one is used: key two is now the oldest')
    const three = await keyed(server, dc)
    assert.equal(server.stats.keysForgotten, 1)
    assert.equal(server.keys.size, 2)
    assert.equal((await ping(one.c, one.session)).pong, true, 'key one was used last, so it stays')
    assert.equal((await ping(three.c, three.session)).pong, true)
    two.session.send(two.c, { _: 'ping', pingId: randomLong() })
    assert.equal(transportErrorCode(await two.c.next()), -404, 'the forgotten key')
    // and the oldest now is key one, with its login: a fourth key makes the DC forget it
    await keyed(server, dc)
    assert.equal(server.cluster.userOfKey(DC_ID, one.session.authKey.idLong), null, 'its login is gone with it')
    one.session.send(one.c, { _: 'ping', pingId: randomLong() })
    assert.equal(transportErrorCode(await one.c.next()), -404)
  })
})

/** Sends `body` and returns the msg_id of the DC's rpc_result for it. */
async function answerIdOf(c: HostileClient, session: HostileSession, body: TlValue): Promise<bigint> {
  const reqMsgId = session.send(c, body)
  for (;;) {
    const e = await c.next()
    if (e.type !== 'frame') throw new Error(`no answer: ${e.type}`)
    const message = session.open(e.payload)
    if (serviceObjects(message).some((o) => o._ === 'rpc_result' && o['reqMsgId'] === reqMsgId)) return message.msgId
  }
}

test('what sessions remember about past messages stays under maxSessionHistoryBytes; a forgotten answer gets msgs_state_info, not a resend', async () => {
  const cap = 16 * 1024
  await withDc({ maxSessionHistoryBytes: cap }, async (server, dc) => {
    const { c, session } = await keyed(server, dc)
    const init = {
      _: 'invokeWithLayer',
      layer: 223,
      query: {
        _: 'initConnection',
        apiId: 1,
        deviceModel: 'test',
        systemVersion: 'linux',
        appVersion: '1',
        systemLangCode: 'en',
        langPack: '',
        langCode: 'en',
        query: { _: 'help.getConfig' },
      },
    }
    const answers = [await answerIdOf(c, session, init)]
    for (let i = 0; i < 40; i++) answers.push(await answerIdOf(c, session, { _: 'help.getConfig' }))
    assert.ok(server.history.bytes <= cap, `history ${server.history.bytes} bytes, cap ${cap}`)
    const resend = async (id: bigint): Promise<string | undefined> => {
      session.send(c, { _: 'msg_resend_req', msgIds: [id] }, { contentRelated: false })
      return (await readUntil(c, session, (o) => o._ === 'msgs_state_info' || o._ === 'rpc_result')).found?._
    }
    assert.equal(await resend(answers[0]!), 'msgs_state_info', 'the oldest answer is forgotten')
    assert.equal(await resend(answers[answers.length - 1]!), 'rpc_result', 'the newest is sent again')
  })
})

test('ping_delay_disconnect with a delay past what a timer holds keeps the connection (it is not closed after 1 ms)', async () => {
  await withDc({}, async (server, dc) => {
    const { c, session } = await keyed(server, dc)
    session.send(c, { _: 'ping_delay_disconnect', pingId: 7n, disconnectDelay: 2_000_000_000 })
    assert.equal((await readUntil(c, session, (o) => o._ === 'pong')).found?._, 'pong')
    assert.equal(await c.waitClosed(500), false, 'still open half a second later')
    assert.equal((await ping(c, session)).pong, true)
  })
})

/** gzip_packed#3072cfa1 around `inner`. */
function gzipPacked(inner: Uint8Array): Uint8Array {
  const w = tlCodec.newWriter(inner.length + 64)
  w.uint(0x3072cfa1)
  w.bytes(gzipSync(inner, { level: 9 }))
  return w.take()
}

test('a gzip_packed bomb costs at most maxInflatedBytes per packet and gets an rpc_error; nesting past maxPackingDepth too', async () => {
  await withDc({ maxInflatedBytes: 1024 * 1024, maxPackingDepth: 4 }, async (server, dc) => {
    const { c, session } = await keyed(server, dc)
    const pingBody = tlCodec.encode({ _: 'ping', pingId: 5n })
    // a 2 MiB request: ping followed by zeros (a ping does not inflate to that, so it must fail before it is read)
    const bomb = new Uint8Array(2 * 1024 * 1024)
    bomb.set(pingBody)
    const bombId = session.send(c, gzipPacked(bomb))
    const r = await readUntil(c, session, (o) => o._ === 'rpc_result' || o._ === 'pong')
    assert.equal(r.found?._, 'rpc_result', `got ${r.found?._ ?? r.ended}`)
    const result = r.found as TlValue & { reqMsgId: bigint; result: TlValue }
    assert.equal(result.reqMsgId, bombId)
    assert.equal(result.result._, 'rpc_error')
    assert.equal(result.result['errorMessage'], 'INPUT_REQUEST_TOO_LONG')
    assert.equal(result.result['errorCode'], 400)
    // nesting: gzip(gzip(gzip(gzip(gzip(ping))))) is 5 deep, one past 4
    let nested = pingBody
    for (let i = 0; i < 5; i++) nested = gzipPacked(nested)
    const nestedId = session.send(c, nested)
    const n = await readUntil(c, session, (o) => o._ === 'rpc_result' || o._ === 'pong')
    assert.equal(n.found?._, 'rpc_result', `got ${n.found?._ ?? n.ended}`)
    assert.equal((n.found as TlValue & { reqMsgId: bigint }).reqMsgId, nestedId)
    // within the bounds a gzip_packed request is answered as usual
    let ok = pingBody
    for (let i = 0; i < 2; i++) ok = gzipPacked(ok)
    session.send(c, ok)
    assert.equal((await readUntil(c, session, (o) => o._ === 'pong')).found?._, 'pong')
    assert.equal(c.isClosed, false)
  })
})

// The client (DcConnection + MtprotoSession) against the local test DC over real loopback sockets: key exchange
// and help.getConfig on every transport, reconnects with pending calls resent, salt changes, time resync,
// containers both ways, gzip_packed results, typed timeouts and transport errors, and many connections sharing
// one auth key. Server-side frames are decrypted with the DC's own keys where a test must see the wire.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { withDc, APP, FAST_RECONNECT, type DcEnv as Env } from './support/dc-env.ts'
const DC_IDS = [1, 2, 3]
import { startTestDc, type TestDc, type TestDcOptions } from '../src/testdc/test-dc.ts'
import type { DcServer } from '../src/testdc/dc-server.ts'
import type { RpcHandler } from '../src/testdc/rpc-dispatcher.ts'
import { buildConfig } from '../src/testdc/services/help-service.ts'
import {
  AuthKeyUnknownError,
  ConnectionLostError,
  DcConnection,
  type DcConnectionOptions,
} from '../src/mtproto/dc/dc-connection.ts'
import { RequestTimeoutError } from '../src/mtproto/session/mtproto-session.ts'
import { decryptMessage } from '../src/mtproto/crypto/message-cipher.ts'
import { isPlainMessage } from '../src/mtproto/session/plain-message.ts'
import { isContainer, unpackContainer, type InnerMessage } from '../src/mtproto/session/message-container.ts'
import { TransportError } from '../src/mtproto/transport/errors.ts'
import type { FramingName } from '../src/mtproto/transport/framing.ts'
import { tlCodec, type TlValue } from '../src/mtproto/tl/index.ts'
import { RpcError } from '../src/mtproto/rpc-error.ts'

const ID = {
  rpcResult: 0xf35c6d01,
  gzipPacked: 0x3072cfa1,
  badServerSalt: 0xedab447b,
  badMsgNotification: 0xa7eff811,
} as const

function idOf(body: Uint8Array): number {
  return new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(0, true)
}

/** The auth key a packet is encrypted with, as the DC knows it (undefined for plain packets). */
function keyOf(server: DcServer, payload: Uint8Array) {
  if (payload.length < 24 || isPlainMessage(payload)) return undefined
  return server.keys.get(new DataView(payload.buffer, payload.byteOffset, 8).getBigInt64(0, true))?.authKey
}

/** The body of a packet the DC sends (decrypted with its key), or undefined for plain packets. */
function serverBody(server: DcServer, payload: Uint8Array): Uint8Array | undefined {
  const key = keyOf(server, payload)
  return key && decryptMessage(key, 'server', payload).body
}

/** The messages of a packet a client sent (a container is unpacked), or undefined for plain packets. */
function clientMessages(
  server: DcServer,
  payload: Uint8Array,
): { outer: InnerMessage; inner: InnerMessage[] } | undefined {
  const key = keyOf(server, payload)
  if (!key) return undefined
  const m = decryptMessage(key, 'client', payload.subarray(0, 24 + ((payload.length - 24) & ~15)))
  const outer = { msgId: m.msgId, seqNo: m.seqNo, body: m.body }
  return { outer, inner: isContainer(m.body) ? unpackContainer(m.body) : [outer] }
}

/** The innermost method of a client request body (invokeWithLayer/initConnection peeled). */
function methodOf(body: Uint8Array): string {
  try {
    return tlCodec.innerRequest(tlCodec.decode(body))._
  } catch {
    return '?'
  }
}

async function until(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

function assertConfig(config: TlValue, dc: TestDc): void {
  assert.equal(config._, 'config')
  assert.equal(config['thisDc'], 2)
  const options = config['dcOptions'] as TlValue[]
  assert.deepEqual(
    options.map((o) => [o['id'], o['ipAddress'], o['port']]),
    DC_IDS.map((id) => [id, dc.host, dc.portOf(id)]),
  )
  for (const id of DC_IDS) assert.ok(dc.portOf(id) > 0)
}

describe('test DC: key exchange and help.getConfig on every transport', () => {
  const variants: [FramingName, boolean][] = [
    ['abridged', false],
    ['abridged', true],
    ['intermediate', false],
    ['intermediate', true],
    ['padded', false],
    ['padded', true],
    ['full', false],
  ]
  for (const [framing, obfuscated] of variants) {
    it(`${framing}${obfuscated ? ', obfuscated' : ''}: a new key, then help.getConfig lists every DC with its port`, async () => {
      await withDc({}, async ({ dc, server, open }) => {
        let created: Uint8Array | undefined
        const conn = open({
          framing,
          obfuscated,
          onAuthKey: (k) => {
            created = k
          },
        })
        const config = (await conn.invoke({ _: 'help.getConfig' })) as TlValue
        assertConfig(config, dc)
        assert.equal(server.stats.keysCreated, 1)
        assert.equal(created?.length, 256)
        assert.deepEqual(created, conn.authKeyBytes)
        // the next call on the connection is no longer wrapped in initConnection, and is answered too
        assert.equal(((await conn.invoke({ _: 'help.getNearestDc' })) as TlValue)['thisDc'], 2)
      })
    })
  }

  it('an authorized-only method gets 401 AUTH_KEY_UNREGISTERED on a fresh key', async () => {
    await withDc({}, async ({ open }) => {
      const conn = open()
      await assert.rejects(
        conn.invoke({ _: 'users.getUsers', id: [] }),
        (err: unknown) => err instanceof RpcError && err.code === 401 && err.errorMessage === 'AUTH_KEY_UNREGISTERED',
      )
    })
  })
})

describe('test DC: reconnects', () => {
  it('a call pending while the DC drops the connection is resent and resolves', async () => {
    let started = 0
    const services = () => ({
      'help.getCdnConfig': async () => {
        started++
        await sleep(300)
        return { _: 'cdnConfig', publicKeys: [] }
      },
    })
    await withDc({ services }, async ({ server, open }) => {
      const conn = open()
      let ready = 0
      conn.on('ready', () => ready++)
      await conn.invoke({ _: 'help.getConfig' })
      const call = conn.invoke({ _: 'help.getCdnConfig' })
      await until(() => started === 1, 'the handler to start')
      server.dropConnections()
      const result = (await call) as TlValue
      assert.equal(result._, 'cdnConfig')
      assert.equal(started, 2, 'the call was sent again after the reconnect')
      assert.equal(ready, 2)
      assert.equal(server.stats.connections, 2)
    })
  })

  it('calls survive a DC that closes every connection after 4 frames (closeAfterFramesSent)', async () => {
    // Frames 0–2 are the key exchange, 3 is new_session_created: the first connection closes before any answer.
    await withDc({ faults: { 2: { transport: { closeAfterFramesSent: 4 } } } }, async ({ dc, server, open }) => {
      const conn = open()
      let ready = 0
      conn.on('ready', () => ready++)
      const results = await Promise.all([
        conn.invoke({ _: 'help.getConfig' }),
        conn.invoke({ _: 'help.getNearestDc' }),
        conn.invoke({ _: 'help.getConfig' }),
      ])
      assertConfig(results[0] as TlValue, dc)
      assert.equal((results[1] as TlValue)['thisDc'], 2)
      assert.ok(ready >= 2, `reconnected (ready ${ready} times)`)
      assert.ok(server.stats.connections >= 2)
      assert.equal(server.stats.keysCreated, 1, 'the key was kept across reconnects')
    })
  })
})

describe('test DC: salts and time', () => {
  it('replaceSalt(): the next call gets bad_server_salt, is resent with the new salt and succeeds', async () => {
    let badSalts = 0
    let server!: DcServer
    const outgoing = ({ payload }: { payload: Uint8Array }) => {
      const body = serverBody(server, payload)
      if (body && idOf(body) === ID.badServerSalt) badSalts++
      return undefined
    }
    await withDc({ faults: { 2: { transport: { outgoing } } } }, async (env) => {
      server = env.server
      const conn = env.open()
      await conn.invoke({ _: 'help.getConfig' })
      const before = conn.serverSalt
      const key = [...server.keys.values()][0]!
      const salt = key.replaceSalt()
      assert.notEqual(salt, before)
      assert.equal(((await conn.invoke({ _: 'help.getNearestDc' })) as TlValue)['thisDc'], 2)
      assert.equal(badSalts, 1)
      assert.equal(conn.serverSalt, salt)
      // rotateSalt() keeps the old salt valid: no bad_server_salt
      key.rotateSalt()
      await conn.invoke({ _: 'help.getNearestDc' })
      assert.equal(badSalts, 1)
    })
  })

  for (const skew of [1000, -1000]) {
    const code = skew > 0 ? 16 : 17
    it(`a DC clock ${skew} s off: bad_msg_notification ${code}, time resync, the call succeeds`, async () => {
      const codes: number[] = []
      let server!: DcServer
      const outgoing = ({ payload }: { payload: Uint8Array }) => {
        const body = serverBody(server, payload)
        if (body && idOf(body) === ID.badMsgNotification) codes.push(tlCodec.decode(body)['errorCode'] as number)
        return undefined
      }
      await withDc({ faults: { 2: { transport: { outgoing } } } }, async (env) => {
        server = env.server
        const first = env.open()
        await first.invoke({ _: 'help.getConfig' })
        const authKey = first.authKeyBytes!
        const serverSalt = first.serverSalt!
        first.close()
        server.faults.clockSkewSeconds = skew
        const conn = env.open({ authKey, serverSalt })
        const config = (await conn.invoke({ _: 'help.getConfig' })) as TlValue
        assertConfig(config, env.dc)
        assert.deepEqual(codes, [code])
        assert.equal(((await conn.invoke({ _: 'help.getNearestDc' })) as TlValue)['thisDc'], 2)
        assert.deepEqual(codes, [code], 'no further bad_msg_notification once synced')
      })
    })
  }
})

describe('test DC: containers', () => {
  it('20 calls made in one tick go out in one container and all resolve', async () => {
    const packets: InnerMessage[][] = []
    let server!: DcServer
    const incoming = ({ frame }: { frame: { payload: Uint8Array } }) => {
      const m = clientMessages(server, frame.payload)
      if (m) packets.push(m.inner)
      return undefined
    }
    await withDc({ faults: { 2: { transport: { incoming } } } }, async (env) => {
      server = env.server
      const conn = env.open()
      await conn.invoke({ _: 'help.getConfig' })
      await sleep(20)
      packets.length = 0
      const calls = Array.from({ length: 20 }, (_, i) =>
        conn.invoke(i % 2 ? { _: 'help.getConfig' } : { _: 'help.getNearestDc' }),
      )
      const results = (await Promise.all(calls)) as TlValue[]
      results.forEach((r, i) => assert.equal(r._, i % 2 ? 'config' : 'nearestDc'))
      const withCalls = packets.filter((p) => p.some((m) => methodOf(m.body).startsWith('help.')))
      assert.equal(withCalls.length, 1, 'one packet carried the calls')
      const calledMethods = withCalls[0]!.map((m) => methodOf(m.body)).filter((m) => m.startsWith('help.'))
      assert.equal(calledMethods.length, 20)
      // inner msg_ids increase and the container's id is above them (docs/protocol.md#security-checks)
      const ids = withCalls[0]!.map((m) => m.msgId)
      for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!)
    })
  })

  it('a container from the DC is unpacked: an rpc_result inside resolves its call, updates inside reach onUpdate', async () => {
    const requests: { msgId: bigint; method: string }[] = []
    let server!: DcServer
    const incoming = ({ frame }: { frame: { payload: Uint8Array } }) => {
      for (const m of clientMessages(server, frame.payload)?.inner ?? [])
        requests.push({ msgId: m.msgId, method: methodOf(m.body) })
      return undefined
    }
    const services = () => ({ 'help.getAppUpdate': () => new Promise(() => {}) }) // answered by hand below
    await withDc({ services, faults: { 2: { transport: { incoming } } } }, async (env) => {
      server = env.server
      const updates: TlValue[] = []
      const conn = env.open({ onUpdate: (u) => updates.push(u) })
      await conn.invoke({ _: 'help.getConfig' })
      const call = conn.invoke({ _: 'help.getAppUpdate', source: '' })
      await until(() => requests.some((r) => r.method === 'help.getAppUpdate'), 'the request to arrive')
      const reqMsgId = requests.find((r) => r.method === 'help.getAppUpdate')!.msgId
      const result = tlCodec.encode({ _: 'help.noAppUpdate' })
      const rpcResult = new Uint8Array(12 + result.length)
      const dv = new DataView(rpcResult.buffer)
      dv.setUint32(0, ID.rpcResult, true)
      dv.setBigInt64(4, reqMsgId, true)
      rpcResult.set(result, 12)
      const session = [...[...server.keys.values()][0]!.sessions.values()][0]!
      session.sendContainer([
        tlCodec.encode({ _: 'updatesTooLong' }),
        rpcResult,
        tlCodec.encode({ _: 'updatesTooLong' }),
      ])
      assert.equal(((await call) as TlValue)._, 'help.noAppUpdate')
      assert.deepEqual(
        updates.map((u) => u._),
        ['updatesTooLong', 'updatesTooLong'],
      )
    })
  })
})

describe('test DC: gzip_packed results', () => {
  it('the DC gzips a big result and the client unpacks it', async () => {
    const many = Array.from({ length: 60 }, (_, i) => ({ id: 1 + (i % 5), host: `10.0.${i}.1`, port: 443 + i }))
    const services = (dcId: number): Record<string, RpcHandler> =>
      dcId === 2 ? { 'help.getConfig': () => buildConfig(2, many) } : {}
    const gzipped: number[] = []
    let server!: DcServer
    const outgoing = ({ payload }: { payload: Uint8Array }) => {
      const body = serverBody(server, payload)
      if (body && idOf(body) === ID.rpcResult && idOf(body.subarray(12)) === ID.gzipPacked) gzipped.push(body.length)
      return undefined
    }
    await withDc({ services, faults: { 2: { transport: { outgoing } } } }, async (env) => {
      server = env.server
      const conn = env.open()
      const config = (await conn.invoke({ _: 'help.getConfig' })) as TlValue
      const options = config['dcOptions'] as TlValue[]
      assert.equal(options.length, 60)
      assert.deepEqual(
        options.map((o) => [o['ipAddress'], o['port']]),
        many.map((d) => [d.host, d.port]),
      )
      assert.equal(gzipped.length, 1, 'the result went out as gzip_packed')
      assert.ok(gzipped[0]! < tlCodec.encode(config).length, 'and smaller than the plain result')
      // small results stay plain
      await conn.invoke({ _: 'help.getNearestDc' })
      assert.equal(gzipped.length, 1)
    })
  })
})

describe('test DC: errors', () => {
  it('a call the DC never answers rejects with RequestTimeoutError; the connection goes on working', async () => {
    const services = () => ({ 'help.getAppUpdate': () => new Promise(() => {}) })
    await withDc({ services }, async ({ open }) => {
      const conn = open()
      await conn.invoke({ _: 'help.getConfig' })
      const t0 = Date.now()
      await assert.rejects(conn.invoke({ _: 'help.getAppUpdate', source: '' }, { timeoutMs: 200 }), (err: unknown) => {
        assert.ok(err instanceof RequestTimeoutError)
        assert.equal(err.method, 'help.getAppUpdate')
        assert.equal(err.timeoutMs, 200)
        return true
      })
      assert.ok(Date.now() - t0 >= 190)
      // a slow call must not hold up the calls behind it (Telegram answers in any order)
      const config = await conn.invoke({ _: 'help.getConfig' }, { timeoutMs: 2000 })
      assert.equal((config as TlValue)._, 'config')
    })
  })

  it('an auth key the DC does not know: transport error -404 on two connections in a row → AuthKeyUnknownError, closed', async () => {
    await withDc({}, async ({ server, open }) => {
      const authKey = new Uint8Array(256).map(() => Math.floor(Math.random() * 256))
      const conn = open({ authKey, serverSalt: 1n })
      const closed = new Promise<Error | undefined>((resolve) => conn.once('closed', resolve))
      await assert.rejects(
        conn.invoke({ _: 'help.getConfig' }),
        (err: unknown) => err instanceof AuthKeyUnknownError && err.dcId === 2,
      )
      assert.ok((await closed) instanceof AuthKeyUnknownError)
      // the first -404 is only a suspicion: a fresh connection asks again and its -404 confirms
      assert.equal(server.stats.unknownKeyPackets, 2)
      assert.equal(server.stats.keysCreated, 0)
    })
  })

  // Documented behaviour of transport errors (docs/protocol.md#transports):
  // - during the key exchange, any of them rejects the call with the typed TransportError;
  // - inside an encrypted session, -429 (flood) makes the client reconnect with a longer backoff and send pending
  //   calls again: the call succeeds;
  // - inside an encrypted session, -444 (invalid DC) is fatal like -404: reconnecting to a DC that will not serve
  //   us cannot help, so pending calls reject with the TransportError and 'closed' is emitted.
  /** Replaces the DC's first rpc_result with a transport error. */
  const errorInsteadOfFirstResult = (code: number, env: () => DcServer) => {
    let fired = false
    return {
      fired: () => fired,
      outgoing: ({ payload }: { payload: Uint8Array }) => {
        const body = serverBody(env(), payload)
        if (fired || !body || idOf(body) !== ID.rpcResult) return undefined
        fired = true
        return { type: 'transportError' as const, code }
      },
    }
  }

  it('transport error -429 on an encrypted session: the client reconnects and the call succeeds', async () => {
    let server!: DcServer
    const fault = errorInsteadOfFirstResult(-429, () => server)
    await withDc({ faults: { 2: { transport: { outgoing: fault.outgoing } } } }, async (env) => {
      server = env.server
      const conn = env.open()
      let ready = 0
      conn.on('ready', () => ready++)
      const config = (await conn.invoke({ _: 'help.getConfig' })) as TlValue
      assertConfig(config, env.dc)
      assert.ok(fault.fired())
      assert.equal(ready, 2, 'reconnected once')
      assert.equal(server.stats.keysCreated, 1)
    })
  })

  it('transport error -444 on an encrypted session: pending calls reject with the TransportError, closed', async () => {
    let server!: DcServer
    const fault = errorInsteadOfFirstResult(-444, () => server)
    await withDc({ faults: { 2: { transport: { outgoing: fault.outgoing } } } }, async (env) => {
      server = env.server
      const conn = env.open()
      const closed = new Promise<Error | undefined>((resolve) => conn.once('closed', resolve))
      await assert.rejects(
        conn.invoke({ _: 'help.getConfig' }, { timeoutMs: 5000 }),
        (err: unknown) => err instanceof TransportError && err.code === -444,
      )
      assert.ok(fault.fired())
      const reason = await closed
      assert.ok(reason instanceof TransportError && reason.code === -444)
      assert.equal(server.stats.connections, 1, 'no reconnect')
    })
  })

  for (const code of [-404, -429, -444]) {
    it(`transport error ${code} during the key exchange rejects the call with a typed TransportError`, async () => {
      const outgoing = ({ index }: { index: number }) =>
        index === 0 ? { type: 'transportError' as const, code } : undefined
      await withDc({ faults: { 2: { transport: { outgoing } } } }, async ({ open }) => {
        const conn = open()
        await assert.rejects(
          conn.invoke({ _: 'help.getConfig' }),
          (err: unknown) => err instanceof TransportError && err.code === code,
        )
      })
    })
  }

  it('a DC that is gone: ConnectionLostError after the reconnect attempts', async () => {
    await withDc({}, async ({ server, open }) => {
      const conn = open({ reconnect: { baseDelayMs: 5, maxDelayMs: 10, maxAttempts: 3 } })
      await conn.invoke({ _: 'help.getConfig' })
      const call = conn.invoke({ _: 'help.getNearestDc' })
      await server.close() // stops listening and drops the connection: every reconnect is refused
      await assert.rejects(call, ConnectionLostError)
    })
  })
})

describe('test DC: many connections', () => {
  // 1,000 connections take about 3 s on a 2-vCPU box (MT_CONNS=1000); 200 keep the suite short.
  const N = Number(process.env['MT_CONNS'] ?? 200)
  it(`${N} connections share one auth key, each with its own session, all get the config`, async () => {
    await withDc({}, async ({ dc, server, open }) => {
      const first = open()
      await first.invoke({ _: 'help.getConfig' })
      const authKey = first.authKeyBytes!
      const serverSalt = first.serverSalt!
      const t0 = Date.now()
      const conns = Array.from({ length: N }, () => open({ authKey, serverSalt }))
      const results = (await Promise.all(conns.map((c) => c.invoke({ _: 'help.getConfig' })))) as TlValue[]
      const ms = Date.now() - t0
      for (const r of results) assertConfig(r, dc)
      assert.equal(server.stats.keysCreated, 1)
      assert.equal(server.keys.size, 1)
      assert.equal([...server.keys.values()][0]!.sessions.size, N + 1, 'one session per connection')
      assert.ok(server.stats.connections >= N + 1)
      assert.ok(ms < 10_000, `${N} connections took ${ms} ms`)
    })
  })
})

describe('giving up', () => {
  it('a DC that accepts connections and drops them at once makes the client give up with ConnectionLostError', async () => {
    const dc = await startTestDc({ dcIds: [2] })
    const conn = new DcConnection({
      dcId: 2,
      host: '127.0.0.1',
      port: dc.portOf(2),
      testMode: true,
      rsaKeys: [dc.publicKey],
      app: APP,
      reconnect: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
    })
    try {
      await conn.invoke({ _: 'help.getNearestDc' })
      // From now on every new connection is closed as soon as the client sends something.
      dc.dc(2).faults.transport = { closeAfterFramesReceived: 1 }
      dc.dc(2).dropConnections()
      await assert.rejects(
        conn.invoke({ _: 'help.getNearestDc' }),
        (e: unknown) => e instanceof ConnectionLostError && /after 3 attempts/.test(e.message),
      )
    } finally {
      conn.close()
      await dc.stop()
    }
  })
})

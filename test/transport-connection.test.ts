import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createServer, connect as netConnect, type AddressInfo, type Server, type Socket } from 'node:net'
import { describe, it } from 'node:test'
import {
  ConnectTimeoutError,
  ConnectionClosedError,
  ProxyError,
  TransportError,
  TransportProtocolError,
} from '../src/mtproto/transport/errors.ts'
import type { FramingName } from '../src/mtproto/transport/framing.ts'
import type { TransportDetection } from '../src/mtproto/transport/server-transport-codec.ts'
import {
  TransportConnection,
  type TransportConnectionOptions,
  type TransportListener,
} from '../src/mtproto/transport/transport-connection.ts'
import {
  TransportServerConnection,
  type TransportServerConnectionOptions,
} from '../src/mtproto/transport/transport-server-connection.ts'

const LOOPBACK = '127.0.0.1'
const QUICK_ACK_TOKEN = 0x0badcafe

async function listen(server: Server): Promise<number> {
  server.listen(0, LOOPBACK)
  await once(server, 'listening')
  return (server.address() as AddressInfo).port
}

async function closeServer(server: Server, sockets: Iterable<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy()
  await new Promise<void>((resolve) => server.close(() => resolve()))
}

/** A tiny DC that echoes every frame, built from TransportServerConnection. */
async function startEcho(options: TransportServerConnectionOptions = {}) {
  const sockets = new Set<Socket>()
  const detections: TransportDetection[] = []
  const closeErrors: Array<Error | undefined> = []
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    const conn = new TransportServerConnection(socket, options)
    conn.on('detected', (d) => detections.push(d))
    conn.on('frame', (payload, { quickAck }) => {
      if (quickAck) conn.sendQuickAck(QUICK_ACK_TOKEN)
      conn.send(payload)
    })
    conn.on('close', (error) => closeErrors.push(error))
  })
  const port = await listen(server)
  return { port, detections, closeErrors, stop: () => closeServer(server, sockets) }
}

interface SocksRequest {
  atyp: number
  host: string
  port: number
}

/** A minimal SOCKS5 server (RFC 1928/1929) that tunnels every CONNECT to `upstreamPort` on loopback. */
async function startSocks(upstreamPort: number, auth?: { username: string; password: string }, reply = 0) {
  const sockets = new Set<Socket>()
  const requests: SocksRequest[] = []
  const server = createServer((client) => {
    sockets.add(client)
    client.on('close', () => sockets.delete(client))
    client.on('error', () => {})
    let buf = Buffer.alloc(0)
    let phase: 'greeting' | 'auth' | 'request' | 'tunnel' = 'greeting'
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk])
      for (;;) {
        if (phase === 'greeting') {
          if (buf.length < 2 || buf.length < 2 + buf[1]) return
          const methods = [...buf.subarray(2, 2 + buf[1])]
          buf = buf.subarray(2 + buf[1])
          if (auth !== undefined && methods.includes(2)) {
            client.write(Buffer.from([5, 2]))
            phase = 'auth'
          } else if (auth === undefined && methods.includes(0)) {
            client.write(Buffer.from([5, 0]))
            phase = 'request'
          } else {
            client.end(Buffer.from([5, 0xff]))
            return
          }
        } else if (phase === 'auth') {
          if (buf.length < 2) return
          const ulen = buf[1]
          if (buf.length < 3 + ulen) return
          const plen = buf[2 + ulen]
          if (buf.length < 3 + ulen + plen) return
          const username = buf.subarray(2, 2 + ulen).toString()
          const password = buf.subarray(3 + ulen, 3 + ulen + plen).toString()
          buf = buf.subarray(3 + ulen + plen)
          if (username !== auth?.username || password !== auth?.password) {
            client.end(Buffer.from([1, 1]))
            return
          }
          client.write(Buffer.from([1, 0]))
          phase = 'request'
        } else if (phase === 'request') {
          if (buf.length < 5) return
          const atyp = buf[3]
          const addrLength = atyp === 1 ? 4 : atyp === 4 ? 16 : 1 + buf[4]
          if (buf.length < 4 + addrLength + 2) return
          const addr = buf.subarray(4, 4 + addrLength)
          const host =
            atyp === 1 ? [...addr].join('.') : atyp === 4 ? addr.toString('hex') : addr.subarray(1).toString()
          requests.push({ atyp, host, port: buf.readUInt16BE(4 + addrLength) })
          const rest = buf.subarray(4 + addrLength + 2)
          phase = 'tunnel'
          client.off('data', onData)
          if (reply !== 0) {
            client.end(Buffer.from([5, reply, 0, 1, 0, 0, 0, 0, 0, 0]))
            return
          }
          client.pause()
          const upstream = netConnect(upstreamPort, LOOPBACK, () => {
            sockets.add(upstream)
            client.write(Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]))
            if (rest.length > 0) upstream.write(rest)
            client.pipe(upstream)
            upstream.pipe(client)
            client.resume()
          })
          upstream.on('close', () => client.destroy())
          upstream.on('error', () => client.destroy())
          client.on('close', () => upstream.destroy())
          return
        } else {
          return
        }
      }
    }
    client.on('data', onData)
  })
  const port = await listen(server)
  return { port, requests, stop: () => closeServer(server, sockets) }
}

/** Records a client connection's events (as its listener) and lets a test wait for them. */
class Recorder implements TransportListener {
  readonly frames: Uint8Array[] = []
  readonly quickAcks: number[] = []
  readonly transportErrors: TransportError[] = []
  closed: { error: Error | undefined } | undefined
  private waiters: Array<() => void> = []

  constructor(readonly conn: TransportConnection) {
    conn.listener = this
  }

  onTransportFrame(p: Uint8Array): void {
    this.note(() => this.frames.push(p))
  }

  onTransportQuickAck(t: number): void {
    this.note(() => this.quickAcks.push(t))
  }

  onTransportError(e: TransportError): void {
    this.note(() => this.transportErrors.push(e))
  }

  onTransportClose(error: Error | undefined): void {
    this.note(() => (this.closed = { error }))
  }

  private note(action: () => void): void {
    action()
    for (const wake of this.waiters.splice(0)) wake()
  }

  async until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!condition()) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error('timed out waiting for the connection')
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }
}

const startsWith = (actual: Uint8Array, expected: Uint8Array): boolean =>
  actual.length >= expected.length && Buffer.from(actual.subarray(0, expected.length)).equals(expected)
const payloadOf = (n: number): Uint8Array => Uint8Array.from(randomBytes(n))

async function openClient(options: TransportConnectionOptions): Promise<Recorder> {
  const conn = new TransportConnection({ connectTimeoutMs: 2000, ...options })
  const recorder = new Recorder(conn)
  await conn.connect()
  return recorder
}

/** Sends payloads (first with a quick-ack request) and checks the echoes, in order. */
async function exchange(recorder: Recorder, padded: boolean): Promise<void> {
  // MTProto packets are never shorter than 24 bytes (shorter padded frames read as transport errors).
  const payloads = [40, 1024, 300_000, 24].map(payloadOf)
  payloads.forEach((p, i) => recorder.conn.send(p, { quickAck: i === 0 }))
  await recorder.until(() => recorder.frames.length >= payloads.length)
  await recorder.until(() => recorder.quickAcks.length >= 1)
  payloads.forEach((p, i) => {
    const got = recorder.frames[i]
    assert.ok(startsWith(got, p), `frame ${i} differs`)
    // Padded intermediate adds 0–15 bytes each way; the MTProto layer trims by its own length.
    assert.ok(padded ? got.length - p.length <= 30 : got.length === p.length)
  })
  assert.deepEqual(recorder.quickAcks, [(QUICK_ACK_TOKEN | 0x80000000) >>> 0])
}

describe('transport connections over loopback', () => {
  const framings: FramingName[] = ['abridged', 'intermediate', 'padded', 'full']
  for (const framing of framings) {
    for (const obfuscated of framing === 'full' ? [false] : [false, true]) {
      it(`direct: ${framing}${obfuscated ? ', obfuscated' : ''}`, async () => {
        const echo = await startEcho()
        try {
          const client = await openClient({ host: LOOPBACK, port: echo.port, framing, obfuscated })
          assert.equal(client.conn.state, 'open')
          await exchange(client, framing === 'padded')
          assert.equal(echo.detections[0].framing, framing)
          assert.equal(echo.detections[0].obfuscated, obfuscated)
          client.conn.close()
          await client.until(() => client.closed !== undefined)
          assert.equal(client.closed?.error, undefined)
          assert.throws(() => client.conn.send(payloadOf(8)), ConnectionClosedError)
        } finally {
          await echo.stop()
        }
      })
    }
  }

  it('many concurrent connections share one process', async () => {
    const echo = await startEcho()
    try {
      const clients = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          openClient({
            host: LOOPBACK,
            port: echo.port,
            framing: i % 2 === 0 ? 'abridged' : 'intermediate',
            obfuscated: i % 3 === 0,
          }),
        ),
      )
      const payloads = clients.map(() => payloadOf(64))
      clients.forEach((c, i) => c.conn.send(payloads[i]))
      await Promise.all(clients.map((c) => c.until(() => c.frames.length === 1)))
      clients.forEach((c, i) => assert.ok(startsWith(c.frames[0], payloads[i])))
      for (const c of clients) c.conn.close()
      await Promise.all(clients.map((c) => c.until(() => c.closed !== undefined)))
    } finally {
      await echo.stop()
    }
  })

  it('a transport error from the server, then its close', async () => {
    const sockets = new Set<Socket>()
    const server = createServer((socket) => {
      sockets.add(socket)
      const conn = new TransportServerConnection(socket)
      conn.on('frame', () => {
        conn.sendTransportError(-404)
        conn.close()
      })
    })
    const port = await listen(server)
    try {
      const client = await openClient({ host: LOOPBACK, port, framing: 'intermediate', obfuscated: true })
      client.conn.send(payloadOf(40))
      await client.until(() => client.closed !== undefined)
      assert.equal(client.transportErrors.length, 1)
      assert.equal(client.transportErrors[0].code, -404)
      assert.equal(client.closed?.error, undefined)
    } finally {
      await closeServer(server, sockets)
    }
  })

  it('connection refused rejects connect()', async () => {
    const server = createServer()
    const port = await listen(server)
    await closeServer(server, [])
    const conn = new TransportConnection({ host: LOOPBACK, port, framing: 'abridged' })
    await assert.rejects(conn.connect(), (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED')
    assert.equal(conn.state, 'closed')
  })

  it('a hostile client is cut off by the server with a typed error', async () => {
    const echo = await startEcho()
    try {
      const raw = netConnect(echo.port, LOOPBACK)
      await once(raw, 'connect')
      raw.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
      await once(raw, 'close')
      await new Promise((r) => setTimeout(r, 20))
      const error = echo.closeErrors[0]
      assert.ok(error instanceof TransportProtocolError && error.reason === 'unsupported-transport')

      const huge = netConnect(echo.port, LOOPBACK)
      await once(huge, 'connect')
      huge.write(Buffer.from('eeeeeeeeffffff7f', 'hex'))
      await once(huge, 'close')
      await new Promise((r) => setTimeout(r, 20))
      const tooLarge = echo.closeErrors[1]
      assert.ok(tooLarge instanceof TransportProtocolError && tooLarge.reason === 'frame-too-large')
    } finally {
      await echo.stop()
    }
  })

  it('server handshake timeout closes a silent client', async () => {
    const echo = await startEcho({ handshakeTimeoutMs: 100 })
    try {
      const raw = netConnect(echo.port, LOOPBACK)
      await once(raw, 'close')
      await new Promise((r) => setTimeout(r, 20))
      assert.ok(echo.closeErrors[0] instanceof ConnectTimeoutError)
    } finally {
      await echo.stop()
    }
  })
})

describe('SOCKS5 proxy', () => {
  it('no auth: IPv4, domain and IPv6 targets', async () => {
    const echo = await startEcho()
    const socks = await startSocks(echo.port)
    try {
      const targets = [
        { host: '149.154.167.51', port: 443, atyp: 1, seen: '149.154.167.51' },
        { host: 'dc2.telegram.test', port: 80, atyp: 3, seen: 'dc2.telegram.test' },
        { host: '2001:67c:4e8:f002::a', port: 443, atyp: 4, seen: '2001067c04e8f002000000000000000a' },
      ]
      for (const target of targets) {
        const client = await openClient({
          host: target.host,
          port: target.port,
          framing: 'intermediate',
          obfuscated: true,
          proxy: { type: 'socks5', host: LOOPBACK, port: socks.port },
        })
        await exchange(client, false)
        client.conn.close()
        await client.until(() => client.closed !== undefined)
      }
      assert.deepEqual(
        socks.requests,
        targets.map((t) => ({ atyp: t.atyp, host: t.seen, port: t.port })),
      )
    } finally {
      await socks.stop()
      await echo.stop()
    }
  })

  it('username/password accepted', async () => {
    const echo = await startEcho()
    const socks = await startSocks(echo.port, { username: 'farm', password: 's3cret' })
    try {
      const client = await openClient({
        host: '149.154.167.51',
        port: 443,
        framing: 'full',
        proxy: { type: 'socks5', host: LOOPBACK, port: socks.port, username: 'farm', password: 's3cret' },
      })
      await exchange(client, false)
      client.conn.close()
      await client.until(() => client.closed !== undefined)
    } finally {
      await socks.stop()
      await echo.stop()
    }
  })

  it('refused auth, missing auth and a failed CONNECT are ProxyErrors', async () => {
    const echo = await startEcho()
    const socks = await startSocks(echo.port, { username: 'farm', password: 's3cret' })
    const failing = await startSocks(echo.port, undefined, 5)
    try {
      const wrong = new TransportConnection({
        host: '149.154.167.51',
        port: 443,
        proxy: { type: 'socks5', host: LOOPBACK, port: socks.port, username: 'farm', password: 'nope' },
      })
      await assert.rejects(
        wrong.connect(),
        (e: unknown) => e instanceof ProxyError && e.reason === 'socks-auth-rejected',
      )
      const anonymous = new TransportConnection({
        host: '149.154.167.51',
        port: 443,
        proxy: { type: 'socks5', host: LOOPBACK, port: socks.port },
      })
      await assert.rejects(
        anonymous.connect(),
        (e: unknown) => e instanceof ProxyError && e.reason === 'socks-no-acceptable-method',
      )
      const refused = new TransportConnection({
        host: '149.154.167.51',
        port: 443,
        proxy: { type: 'socks5', host: LOOPBACK, port: failing.port },
      })
      await assert.rejects(
        refused.connect(),
        (e: unknown) => e instanceof ProxyError && e.reason === 'socks-connect-failed' && e.socksReply === 5,
      )
    } finally {
      await failing.stop()
      await socks.stop()
      await echo.stop()
    }
  })

  it('a silent proxy hits the connect timeout', async () => {
    const sockets = new Set<Socket>()
    const silent = createServer((s) => sockets.add(s))
    const port = await listen(silent)
    try {
      const conn = new TransportConnection({
        host: '149.154.167.51',
        port: 443,
        connectTimeoutMs: 150,
        proxy: { type: 'socks5', host: LOOPBACK, port },
      })
      const started = Date.now()
      await assert.rejects(conn.connect(), ConnectTimeoutError)
      assert.ok(Date.now() - started >= 140)
    } finally {
      await closeServer(silent, sockets)
    }
  })
})

describe('MTProxy', () => {
  const secretHex = '00112233445566778899aabbccddeeff'
  const secret = Uint8Array.from(Buffer.from(secretHex, 'hex'))

  it('obfuscated with a secret; the endpoint reads the DC from the init', async () => {
    const echo = await startEcho({ mtproxySecrets: [secret] })
    try {
      const client = await openClient({
        host: '149.154.167.51',
        port: 443,
        dcId: 10002,
        framing: 'abridged',
        proxy: { type: 'mtproxy', host: LOOPBACK, port: echo.port, secret: secretHex },
      })
      await exchange(client, false)
      assert.deepEqual(echo.detections[0], { framing: 'abridged', obfuscated: true, dcId: 10002, secretIndex: 0 })
      client.conn.close()
      await client.until(() => client.closed !== undefined)
    } finally {
      await echo.stop()
    }
  })

  it('a dd secret forces padded intermediate', async () => {
    const echo = await startEcho({ mtproxySecrets: [secret] })
    try {
      const client = await openClient({
        host: '149.154.167.51',
        port: 443,
        dcId: -2,
        framing: 'intermediate',
        proxy: { type: 'mtproxy', host: LOOPBACK, port: echo.port, secret: 'dd' + secretHex },
      })
      assert.equal(client.conn.framing, 'padded')
      await exchange(client, true)
      assert.deepEqual(echo.detections[0], { framing: 'padded', obfuscated: true, dcId: -2, secretIndex: 0 })
      client.conn.close()
      await client.until(() => client.closed !== undefined)
    } finally {
      await echo.stop()
    }
  })

  it('a wrong secret is refused by the endpoint; ee secrets and a missing dcId are refused by the client', async () => {
    const echo = await startEcho({ mtproxySecrets: [secret] })
    try {
      const client = await openClient({
        host: '149.154.167.51',
        port: 443,
        dcId: 2,
        proxy: { type: 'mtproxy', host: LOOPBACK, port: echo.port, secret: 'ff'.repeat(16) },
      })
      client.conn.send(payloadOf(40))
      await client.until(() => client.closed !== undefined)
      assert.equal(client.frames.length, 0)
      const serverError = echo.closeErrors[0]
      assert.ok(serverError instanceof TransportProtocolError && serverError.reason === 'unknown-tag')
    } finally {
      await echo.stop()
    }
    const proxy = { type: 'mtproxy' as const, host: LOOPBACK, port: 1 }
    assert.throws(
      () =>
        new TransportConnection({
          host: 'x',
          port: 1,
          dcId: 2,
          proxy: { ...proxy, secret: 'ee' + secretHex + '676f6f676c652e636f6d' },
        }),
      (e: unknown) => e instanceof ProxyError && e.reason === 'mtproxy-fake-tls-unsupported',
    )
    assert.throws(
      () => new TransportConnection({ host: 'x', port: 1, proxy: { ...proxy, secret: secretHex } }),
      (e: unknown) => e instanceof ProxyError && e.reason === 'mtproxy-bad-config',
    )
  })
})

describe('server fault hooks', () => {
  async function withFaults(
    options: TransportServerConnectionOptions,
    framing: FramingName,
    body: (client: Recorder) => Promise<void>,
  ): Promise<void> {
    const echo = await startEcho(options)
    try {
      const client = await openClient({ host: LOOPBACK, port: echo.port, framing })
      await body(client)
      client.conn.close()
    } finally {
      await echo.stop()
    }
  }

  it('close after N frames sent', async () => {
    await withFaults({ faults: { closeAfterFramesSent: 2 } }, 'intermediate', async (client) => {
      for (let i = 0; i < 4; i++) client.conn.send(payloadOf(16))
      await client.until(() => client.closed !== undefined)
      assert.equal(client.frames.length, 2)
    })
  })

  it('close after N frames received', async () => {
    await withFaults({ faults: { closeAfterFramesReceived: 1 } }, 'abridged', async (client) => {
      client.conn.send(payloadOf(16))
      await client.until(() => client.closed !== undefined)
      assert.equal(client.frames.length, 1)
    })
  })

  it('delay keeps order and holds frames', async () => {
    await withFaults({ faults: { delayMs: 120 } }, 'full', async (client) => {
      const started = Date.now()
      const payloads = [payloadOf(16), payloadOf(32), payloadOf(48)]
      for (const p of payloads) client.conn.send(p)
      await client.until(() => client.frames.length === 3)
      assert.ok(Date.now() - started >= 110)
      payloads.forEach((p, i) => assert.ok(startsWith(client.frames[i], p)))
    })
  })

  it('corrupting a full frame breaks its CRC on the client', async () => {
    await withFaults(
      { faults: { outgoing: ({ index }) => (index === 1 ? { type: 'corrupt' } : undefined) } },
      'full',
      async (client) => {
        client.conn.send(payloadOf(16))
        client.conn.send(payloadOf(16))
        await client.until(() => client.closed !== undefined)
        assert.equal(client.frames.length, 1)
        const error = client.closed?.error
        assert.ok(error instanceof TransportProtocolError && error.reason === 'bad-crc')
      },
    )
  })

  it('drop, replace and a transport error instead of a frame', async () => {
    const replacement = payloadOf(24)
    await withFaults(
      {
        faults: {
          outgoing: ({ index }) =>
            index === 0
              ? { type: 'drop' }
              : index === 1
                ? { type: 'replace', payload: replacement }
                : index === 2
                  ? { type: 'transportError', code: -444 }
                  : undefined,
        },
      },
      'full',
      async (client) => {
        const last = payloadOf(8)
        for (const p of [payloadOf(16), payloadOf(16), payloadOf(16), last]) client.conn.send(p)
        await client.until(() => client.frames.length === 2)
        assert.ok(startsWith(client.frames[0], replacement))
        assert.ok(startsWith(client.frames[1], last))
        assert.equal(client.transportErrors[0].code, -444)
      },
    )
  })

  it('incoming hook can drop frames', async () => {
    await withFaults(
      { faults: { incoming: ({ index }) => (index === 0 ? 'drop' : 'deliver') } },
      'padded',
      async (client) => {
        const second = payloadOf(32)
        client.conn.send(payloadOf(32))
        client.conn.send(second)
        await client.until(() => client.frames.length === 1)
        assert.ok(startsWith(client.frames[0], second))
      },
    )
  })
})

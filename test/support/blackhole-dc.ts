// DCs that blackhole their connections, as networks in front of Telegram do: every connection is accepted, then
// - 'silent': nothing is ever answered (bytes are read and dropped);
// - 'after-key-exchange': the connection is forwarded to a real (test) DC while the client speaks plain
//   messages (the auth-key exchange), and goes silent both ways at the client's first encrypted message (a
//   stored key skips straight to that point).
// The client must use the intermediate framing without obfuscation (the farm's default): the forwarder reads
// the client's frames to find the first encrypted one, and refuses to guess on anything else.
import { connect, createServer, type Server, type Socket } from 'node:net'
import type { DcAddress } from '../../src/mtproto/dc/dc-addresses.ts'

export type BlackholeMode = 'silent' | 'after-key-exchange'

export interface BlackholeDcs {
  /** One address per DC of `real`, same ids: give these to the client instead. */
  readonly dcs: DcAddress[]
  /** Connections accepted so far. */
  connections(): number
  /** Connections that reached their first encrypted message and were silenced there ('after-key-exchange'). */
  silencedAfterKeyExchange(): number
  /** Connections whose framing the forwarder could not read (not plain intermediate): closed at once. */
  unreadable(): number
  /** Connections still open. */
  open(): number
  close(): Promise<void>
}

/** The intermediate transport's first 4 bytes (0xeeeeeeee), sent once by the client. */
const INTERMEDIATE_TAG = 0xeeeeeeee
/** A plain (unencrypted) message starts with auth_key_id 0 (8 zero bytes). */
const AUTH_KEY_ID_BYTES = 8

export async function startBlackholeDcs(real: readonly DcAddress[], mode: BlackholeMode): Promise<BlackholeDcs> {
  const sockets = new Set<Socket>()
  let connections = 0
  let silenced = 0
  let unreadable = 0
  const track = (s: Socket): void => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s)).on('error', () => s.destroy())
  }

  const forward = (client: Socket, target: DcAddress): void => {
    const upstream = connect(target.port, target.host)
    track(upstream)
    let silent = false
    let buf = Buffer.alloc(0)
    let tagSeen = false
    upstream.on('data', (d: Buffer) => {
      if (!silent) client.write(d)
    })
    upstream.on('close', () => {
      if (!silent) client.destroy()
    })
    client.on('close', () => upstream.destroy())
    client.on('data', (d: Buffer) => {
      if (silent) return
      buf = Buffer.concat([buf, d])
      if (!tagSeen) {
        if (buf.length < 4) return
        if (buf.readUInt32LE(0) !== INTERMEDIATE_TAG) {
          // Not a framing this forwarder can read: counted (the test fails on it) rather than guessed at.
          unreadable++
          client.destroy()
          return
        }
        upstream.write(buf.subarray(0, 4))
        buf = buf.subarray(4)
        tagSeen = true
      }
      while (buf.length >= 4) {
        const len = buf.readUInt32LE(0)
        if (buf.length < 4 + len) return
        const payload = buf.subarray(4, 4 + len)
        const encrypted =
          payload.length >= AUTH_KEY_ID_BYTES && payload.subarray(0, AUTH_KEY_ID_BYTES).some((b) => b !== 0)
        if (encrypted) {
          // From here on the network swallows everything, both ways; the sockets stay open.
          silent = true
          silenced++
          buf = Buffer.alloc(0)
          return
        }
        upstream.write(buf.subarray(0, 4 + len))
        buf = buf.subarray(4 + len)
      }
    })
  }

  const servers: Server[] = []
  const dcs: DcAddress[] = []
  for (const dc of real) {
    const server = createServer((client) => {
      connections++
      track(client)
      if (mode === 'silent') client.on('data', () => undefined)
      else forward(client, dc)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    servers.push(server)
    dcs.push({ id: dc.id, host: '127.0.0.1', port: (server.address() as { port: number }).port })
  }
  return {
    dcs,
    connections: () => connections,
    silencedAfterKeyExchange: () => silenced,
    unreadable: () => unreadable,
    open: () => [...sockets].filter((s) => !s.destroyed).length,
    close: async () => {
      for (const s of sockets) s.destroy()
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
    },
  }
}

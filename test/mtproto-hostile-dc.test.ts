// The client against a DC that misbehaves on purpose (test/support/hostile-dc.ts): every wait has a deadline,
// recovery is bounded, a service message settles only the call it answers, and one -404 does not cost the key.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { withHostileDc, type HostileConnection, type ClientMessage } from './support/hostile-dc.ts'
import { TimeoutError } from '../src/mtproto/timeout-error.ts'
import {
  RequestTimeoutError,
  ResendLimitError,
  type SessionSecurityError,
} from '../src/mtproto/session/mtproto-session.ts'
import { AuthKeyUnknownError, ReconnectGaveUpError } from '../src/mtproto/dc/dc-connection.ts'
import { MtprotoClient, type AuthKeyStore } from '../src/mtproto/client/mtproto-client.ts'
import { APP } from './support/dc-env.ts'
import type { TlValue } from '../src/mtproto/tl/index.ts'

const NEAREST: TlValue = { _: 'nearestDc', country: 'XX', thisDc: 2, nearestDc: 2 }

/** Answers every help.getNearestDc (and ping) as a working DC would. */
function workingAnswers(c: HostileConnection, m: ClientMessage): boolean {
  if (m.method === 'help.getNearestDc') {
    c.answer(m, NEAREST)
    return true
  }
  if (m.method === 'ping') {
    c.sendObject({ _: 'pong', msgId: m.msgId, pingId: (m.obj as TlValue)['pingId'] as bigint })
    return true
  }
  return false
}

async function elapsed<T>(p: Promise<T>): Promise<[T | unknown, number]> {
  const t = Date.now()
  try {
    return [await p, Date.now() - t]
  } catch (err) {
    return [err, Date.now() - t]
  }
}

describe('deadlines: a DC that accepts TCP and then stalls', () => {
  const stalls: {
    name: string
    onConnect?: (c: HostileConnection) => void
    onPlain?: (c: HostileConnection) => void
  }[] = [
    { name: 'stays silent after req_pq_multi' },
    { name: 'reads nothing', onConnect: (c) => c.socket.pause() },
    {
      name: 'trickles a 16 MiB frame',
      onPlain: (c) => {
        const len = new Uint8Array(4)
        new DataView(len.buffer).setUint32(0, 16 * 1024 * 1024 - 16, true)
        c.sendWire(len)
        const t = setInterval(() => (c.closed ? clearInterval(t) : c.sendWire(new Uint8Array([0]))), 20)
      },
    },
  ]
  for (const { name, onConnect, onPlain } of stalls) {
    it(`${name}: the key exchange fails with TimeoutError('handshake') within handshakeTimeoutMs`, async () => {
      await withHostileDc({ ...(onConnect ? { onConnect } : {}), ...(onPlain ? { onPlain } : {}) }, async (dc) => {
        const conn = dc.open({ handshakeTimeoutMs: 300, requestTimeoutMs: 60_000 }, false)
        const [err, ms] = await elapsed(conn.invoke({ _: 'help.getNearestDc' }))
        assert.ok(err instanceof TimeoutError, `expected TimeoutError, got ${String(err)}`)
        assert.equal(err.phase, 'handshake')
        assert.match(err.message, /req_pq_multi/)
        assert.ok(ms >= 250 && ms < 5000, `took ${ms} ms`)
      })
    })
  }

  it('a SOCKS5 proxy that accepts TCP and never answers: TimeoutError(connect) within connectTimeoutMs', async () => {
    await withHostileDc({ onConnect: (c) => c.socket.pause() }, async (dc) => {
      const conn = dc.open(
        { connectTimeoutMs: 300, proxy: { type: 'socks5', host: '127.0.0.1', port: dc.port } },
        false,
      )
      const [err, ms] = await elapsed(conn.invoke({ _: 'help.getNearestDc' }))
      assert.ok(err instanceof TimeoutError, `expected TimeoutError, got ${String(err)}`)
      assert.equal(err.phase, 'connect')
      assert.ok(ms < 5000, `took ${ms} ms`)
    })
  })

  it('the request deadline counts from invoke(): a hanging key exchange ends the call at requestTimeoutMs', async () => {
    await withHostileDc({}, async (dc) => {
      const conn = dc.open({ handshakeTimeoutMs: 60_000, requestTimeoutMs: 300 }, false)
      const [err, ms] = await elapsed(conn.invoke({ _: 'help.getNearestDc' }))
      assert.ok(err instanceof RequestTimeoutError, `expected RequestTimeoutError, got ${String(err)}`)
      assert.equal(err.phase, 'request')
      assert.ok(err instanceof TimeoutError)
      assert.ok(ms < 5000, `took ${ms} ms`)
    })
  })

  it('MtprotoClient passes its deadlines to every DC connection', async () => {
    await withHostileDc({}, async (dc) => {
      const client = new MtprotoClient({
        app: APP,
        testMode: true,
        dcs: [{ id: 2, host: '127.0.0.1', port: dc.port }],
        rsaKeys: [],
        homeDc: 2,
        handshakeTimeoutMs: 200,
        maxRetries: 0,
      })
      try {
        const [err, ms] = await elapsed(client.invoke({ _: 'help.getNearestDc' }))
        assert.ok(err instanceof TimeoutError && err.phase === 'handshake', `got ${String(err)}`)
        assert.ok(ms < 5000, `took ${ms} ms`)
      } finally {
        client.close()
      }
    })
  })

  it('a DC that goes silent after the key: the call ends with RequestTimeoutError', async () => {
    await withHostileDc({}, async (dc) => {
      const conn = dc.open({ requestTimeoutMs: 300 })
      const [err] = await elapsed(conn.invoke({ _: 'help.getNearestDc' }))
      assert.ok(err instanceof RequestTimeoutError, `got ${String(err)}`)
    })
  })
})

describe('a connection that stops carrying packets is replaced', () => {
  it('after a call times out with nothing valid arriving (a frame that never ends), the next call goes over a new connection', async () => {
    let calls = 0
    await withHostileDc(
      {
        onMessage: (c, m) => {
          if (m.method !== 'help.getNearestDc') return
          if (++calls === 1)
            c.sendWire(new Uint8Array([0xff, 0xff, 0x0f, 0x00])) // a 1 MiB frame that never comes
          else c.answer(m, NEAREST)
        },
      },
      async (dc) => {
        const conn = dc.open({ requestTimeoutMs: 300 })
        await assert.rejects(
          conn.invoke({ _: 'help.getNearestDc' }),
          (err: unknown) => err instanceof RequestTimeoutError,
        )
        const result = (await conn.invoke({ _: 'help.getNearestDc' })) as TlValue
        assert.equal(result['thisDc'], 2)
        assert.equal(dc.stats.connections, 2)
      },
    )
  })
})

describe('keep-alive', () => {
  it('a ping_delay_disconnect with no pong for a whole interval ends the connection, and the next call reconnects', async () => {
    await withHostileDc(
      {
        onMessage: (c, m) => {
          if (m.method === 'help.getNearestDc') c.answer(m, NEAREST)
        }, // pings: never a pong
      },
      async (dc) => {
        const conn = dc.open({ pingIntervalMs: 1000 })
        await conn.invoke({ _: 'help.getNearestDc' })
        const t = Date.now()
        while (dc.stats.connections < 2 && Date.now() - t < 8000) {
          await sleep(100)
          if (dc.connections[0]!.closed) await conn.invoke({ _: 'help.getNearestDc' })
        }
        assert.ok(dc.connections[0]!.closed, 'the silent connection was dropped')
        assert.equal(dc.stats.connections, 2)
      },
    )
  })
})

describe('bounded recovery', () => {
  // Each answer fails one check; the client drops it and reconnects. Before, any frame reset the attempt counter,
  // so this went on for ever (~4 reconnects a second).
  const bad: { check: SessionSecurityError['check']; send: (c: HostileConnection, m: ClientMessage) => void }[] = [
    {
      check: 'decrypt',
      send: (c) => {
        const { packet } = c.encrypted(new Uint8Array(16))
        packet[30] = packet[30]! ^ 1
        c.sendPayload(packet)
      },
    },
    {
      check: 'session-id',
      send: (c) => {
        c.sendMessage(new Uint8Array(8), { sessionId: c.sessionId ^ 1n })
      },
    },
    {
      check: 'msg-id-parity',
      send: (c) => {
        c.sendMessage(new Uint8Array(8), { msgId: c.clock.next() + 1n })
      },
    },
    {
      check: 'time-window',
      send: (c) => {
        c.sendMessage(new Uint8Array(8), { msgId: c.clock.next() - (1000n << 32n) })
      },
    },
  ]
  for (const { check, send } of bad) {
    it(`every answer fails ${check}: the client gives up after maxAttempts reconnects (ReconnectGaveUpError)`, async () => {
      let synced = false
      await withHostileDc(
        {
          onMessage: (c, m) => {
            // the session takes the server's clock from its first message: one good message, then only bad ones
            if (check === 'time-window' && !synced) {
              synced = true
              c.sendObject({ _: 'msgs_ack', msgIds: [m.msgId] })
            }
            send(c, m)
          },
        },
        async (dc) => {
          const conn = dc.open({
            reconnect: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
            requestTimeoutMs: 20_000,
          })
          const violations: string[] = []
          conn.on('securityViolation', (e) => violations.push(e.check))
          const closed = new Promise<Error | undefined>((resolve) => conn.once('closed', resolve))
          const [err, ms] = await elapsed(conn.invoke({ _: 'help.getNearestDc' }))
          assert.ok(err instanceof ReconnectGaveUpError, `expected ReconnectGaveUpError, got ${String(err)}`)
          assert.equal(err.attempts, 3)
          assert.ok((await closed) instanceof ReconnectGaveUpError)
          assert.equal(dc.stats.connections, 4, 'the first connection and 3 reconnects')
          assert.ok(violations.length >= 4 && violations.every((v) => v === check), violations.join())
          assert.ok(ms < 5000, `took ${ms} ms`)
        },
      )
    })
  }

  it('a packet that passes every check resets the attempt count', async () => {
    let n = 0
    await withHostileDc(
      {
        onMessage: (c, m) => {
          // connections 1 and 2 get a good pong-less ack and then garbage; from the third on the DC answers
          if (m.method !== 'help.getNearestDc') return
          n++
          if (n <= 2) {
            c.sendObject({ _: 'msgs_ack', msgIds: [m.msgId] })
            c.sendMessage(new Uint8Array(8), { sessionId: c.sessionId ^ 1n })
          } else c.answer(m, NEAREST)
        },
      },
      async (dc) => {
        const conn = dc.open({ reconnect: { maxAttempts: 1, baseDelayMs: 5, maxDelayMs: 20 } })
        const result = (await conn.invoke({ _: 'help.getNearestDc' })) as TlValue
        assert.equal(result['thisDc'], 2)
        assert.equal(
          dc.stats.connections,
          3,
          'two reconnects with maxAttempts 1: the valid ack in between reset the count',
        )
      },
    )
  })

  const resendCauses: { name: string; send: (c: HostileConnection, m: ClientMessage) => void }[] = [
    {
      name: 'bad_server_salt',
      send: (c, m) =>
        c.sendObject({
          _: 'bad_server_salt',
          badMsgId: m.msgId,
          badMsgSeqno: m.seqNo,
          errorCode: 48,
          newServerSalt: 7n,
        }),
    },
    {
      name: 'bad_msg_notification 16',
      send: (c, m) =>
        c.sendObject({ _: 'bad_msg_notification', badMsgId: m.msgId, badMsgSeqno: m.seqNo, errorCode: 16 }),
    },
    {
      name: 'bad_msg_notification 17',
      send: (c, m) =>
        c.sendObject({ _: 'bad_msg_notification', badMsgId: m.msgId, badMsgSeqno: m.seqNo, errorCode: 17 }),
    },
    { name: 'msg_resend_req', send: (c, m) => c.sendObject({ _: 'msg_resend_req', msgIds: [m.msgId] }) },
  ]
  for (const { name, send } of resendCauses) {
    it(`a DC answering every message with ${name}: at most maxResends resends, then ResendLimitError`, async () => {
      let sent = 0
      await withHostileDc(
        {
          onMessage: (c, m) => {
            if (m.method !== 'help.getNearestDc') return
            sent++
            send(c, m)
          },
        },
        async (dc) => {
          const conn = dc.open({ maxResends: 4, requestTimeoutMs: 10_000 })
          const [err, ms] = await elapsed(conn.invoke({ _: 'help.getNearestDc' }))
          assert.ok(err instanceof ResendLimitError, `expected ResendLimitError, got ${String(err)}`)
          assert.equal(err.method, 'help.getNearestDc')
          assert.equal(sent, 5, 'sent once and resent 4 times')
          assert.ok(ms < 8000, `took ${ms} ms`)
          await sleep(50)
          assert.equal(sent, 5, 'nothing more after the give-up')
        },
      )
    })
  }
})

describe('service messages settle only the call they answer', () => {
  it('a pong or future_salts naming a pending call does not settle it; the real answer does', async () => {
    await withHostileDc(
      {
        onMessage: (c, m) => {
          if (m.method !== 'help.getNearestDc') return
          c.sendObject({ _: 'pong', msgId: m.msgId, pingId: 1n })
          c.sendObject({ _: 'future_salts', reqMsgId: m.msgId, now: 0, salts: [] })
          c.sendObject({ _: 'msgs_state_info', reqMsgId: m.msgId, info: new Uint8Array(1) })
          setTimeout(() => c.answer(m, NEAREST), 30)
        },
      },
      async (dc) => {
        const conn = dc.open()
        const result = (await conn.invoke({ _: 'help.getNearestDc' })) as TlValue
        assert.equal(result._, 'nearestDc')
      },
    )
  })

  it('a plain pong settles its ping (when the ping id matches); a plain future_salts settles get_future_salts', async () => {
    let wrongPong = true
    await withHostileDc(
      {
        onMessage: (c, m) => {
          if (workingAnswers(c, m) && m.method !== 'ping') return
          if (m.method === 'get_future_salts')
            c.sendObject({
              _: 'future_salts',
              reqMsgId: m.msgId,
              now: 5,
              salts: [{ _: 'future_salt', validSince: 1, validUntil: 2, salt: 3n }],
            })
          if (m.method === 'ping' && wrongPong) {
            wrongPong = false
            c.sendObject({ _: 'pong', msgId: m.msgId, pingId: 999n }) // not its ping id: ignored
          }
        },
      },
      async (dc) => {
        const conn = dc.open()
        await conn.invoke({ _: 'help.getNearestDc' })
        const pong = (await conn.invoke({ _: 'ping', pingId: 42n })) as TlValue
        assert.equal(pong._, 'pong')
        assert.equal(pong['pingId'], 42n)
        const salts = (await conn.invoke({ _: 'get_future_salts', num: 1 })) as TlValue
        assert.equal(salts._, 'future_salts')
        assert.equal(salts['now'], 5)
      },
    )
  })
})

describe('destroy_auth_key', () => {
  it('a plain destroy_auth_key_ok settles the pending destroy_auth_key (and no other call)', async () => {
    await withHostileDc(
      {
        onMessage: (c, m) => {
          if (m.method === 'destroy_auth_key') {
            c.sendObject({ _: 'destroy_auth_key_ok' })
            return
          }
          if (m.method === 'help.getNearestDc') setTimeout(() => c.answer(m, NEAREST), 50)
        },
      },
      async (dc) => {
        const conn = dc.open({ requestTimeoutMs: 2000 })
        await conn.invoke({ _: 'help.getNearestDc' })
        const other = conn.invoke({ _: 'help.getNearestDc' })
        const result = (await conn.invoke({ _: 'destroy_auth_key' })) as TlValue
        assert.equal(result._, 'destroy_auth_key_ok')
        assert.equal(((await other) as TlValue)._, 'nearestDc')
      },
    )
  })
})

describe('-404 after a key exists is a suspicion', () => {
  it('one -404, then a DC that answers: the key is kept and the call succeeds', async () => {
    let first = true
    await withHostileDc(
      {
        onMessage: (c, m) => {
          if (first) {
            first = false
            c.sendTransportError(-404)
            return
          }
          workingAnswers(c, m)
        },
      },
      async (dc) => {
        let forgotten = false
        const conn = dc.open()
        conn.on('closed', () => {
          forgotten = true
        })
        const result = (await conn.invoke({ _: 'help.getNearestDc' })) as TlValue
        assert.equal(result['thisDc'], 2)
        assert.equal(forgotten, false)
        assert.deepEqual(conn.authKeyBytes, dc.authKey)
        assert.equal(dc.stats.connections, 2)
      },
    )
  })

  it('MtprotoClient keeps the stored key after a single -404; a -404 on the fresh connection too deletes it', async () => {
    for (const confirm of [false, true]) {
      let count = 0
      await withHostileDc(
        {
          onMessage: (c, m) => {
            count++
            if (count === 1 || confirm) c.sendTransportError(-404)
            else workingAnswers(c, m)
          },
        },
        async (dc) => {
          const stored = new Map([[2, { authKey: dc.authKey }]])
          const keys: AuthKeyStore = {
            get: (id) => stored.get(id),
            set: (id, authKey) => {
              stored.set(id, { authKey })
            },
            delete: (id) => {
              stored.delete(id)
            },
          }
          const client = new MtprotoClient({
            app: APP,
            testMode: true,
            dcs: [{ id: 2, host: '127.0.0.1', port: dc.port }],
            rsaKeys: [],
            homeDc: 2,
            keys,
            reconnect: { baseDelayMs: 5, maxDelayMs: 20 },
          })
          try {
            const [result] = await elapsed(client.invoke({ _: 'help.getNearestDc' }))
            if (confirm) {
              assert.ok(result instanceof AuthKeyUnknownError, `got ${String(result)}`)
              assert.equal(stored.has(2), false, 'confirmed on a fresh connection: forgotten')
            } else {
              assert.equal((result as TlValue)['thisDc'], 2)
              assert.equal(stored.has(2), true, 'one -404: kept')
            }
          } finally {
            client.close()
          }
        },
      )
    }
  })
})

// The client's security checks (docs/protocol.md#security-checks) against a test DC that misbehaves in exactly one way each time:
// every key-exchange check refuses with its typed error and drops the connection, dh_gen_retry is followed,
// and inbound encrypted messages that fail a check (decrypt, session id, msg_id parity, replay, time window)
// are dropped with a securityViolation, after which the client reconnects and its call still succeeds.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { withDc, APP, FAST_RECONNECT, type DcEnv as Env } from './support/dc-env.ts'
import { startTestDc, type TestDc, type TestDcOptions } from '../src/testdc/test-dc.ts'
import type { DcServer } from '../src/testdc/dc-server.ts'
import type { HandshakeFaults } from '../src/testdc/handshake-responder.ts'
import type { SessionFaults } from '../src/testdc/server-session.ts'
import { DcConnection, type DcConnectionOptions } from '../src/mtproto/dc/dc-connection.ts'
import { AuthKeyExchangeError, type HandshakeFailure } from '../src/mtproto/handshake/auth-key-exchange.ts'
import { SecurityCheckError, type SecurityCheck } from '../src/mtproto/crypto/security-check-error.ts'
import type { SessionSecurityError } from '../src/mtproto/session/mtproto-session.ts'
import { decryptMessage } from '../src/mtproto/crypto/message-cipher.ts'
import { isPlainMessage } from '../src/mtproto/session/plain-message.ts'
import type { TlValue } from '../src/mtproto/tl/index.ts'

const RPC_RESULT = 0xf35c6d01

/** Sockets the DC holds open (private; read here to prove the client hung up). */
function openSockets(server: DcServer): number {
  return (server as unknown as { sockets: Set<unknown> }).sockets.size
}

async function until(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

/** The body of a packet the DC sends, decrypted with its key (undefined for plain packets). */
function serverBody(server: DcServer, payload: Uint8Array): Uint8Array | undefined {
  if (payload.length < 24 || isPlainMessage(payload)) return undefined
  const key = server.keys.get(new DataView(payload.buffer, payload.byteOffset, 8).getBigInt64(0, true))?.authKey
  return key && decryptMessage(key, 'server', payload).body
}

describe('key exchange: the client refuses a misbehaving DC', () => {
  const cases: { fault: keyof HandshakeFaults; check?: SecurityCheck; failure?: HandshakeFailure }[] = [
    { fault: 'wrongNonce', failure: 'nonce-mismatch' },
    { fault: 'wrongServerNonce', failure: 'server-nonce-mismatch' },
    { fault: 'badPrime', check: 'dh_prime_not_safe' },
    { fault: 'badG', check: 'dh_g_residue' },
    { fault: 'badGA', check: 'dh_value_range' },
    { fault: 'badAnswerHash', check: 'answer_hash' },
    { fault: 'wrongNewNonceHash', failure: 'new-nonce-hash-mismatch' },
    { fault: 'fail', failure: 'dh-gen-fail' },
  ]
  for (const { fault, check, failure } of cases) {
    const expected = check ? `SecurityCheckError ${check}` : `AuthKeyExchangeError ${failure}`
    it(`${fault} → ${expected}, and the connection is dropped`, async () => {
      await withDc({ dcIds: [2], faults: { handshake: { [fault]: true } } }, async ({ server, open }) => {
        let created = false
        const conn = open({
          onAuthKey: () => {
            created = true
          },
        })
        await assert.rejects(conn.invoke({ _: 'help.getConfig' }), (err: unknown) => {
          if (check) {
            assert.ok(err instanceof SecurityCheckError, `expected SecurityCheckError, got ${String(err)}`)
            assert.equal(err.check, check)
          } else {
            assert.ok(err instanceof AuthKeyExchangeError, `expected AuthKeyExchangeError, got ${String(err)}`)
            assert.equal(err.failure, failure)
          }
          return true
        })
        assert.equal(created, false, 'no key was handed out')
        assert.equal(conn.authKeyBytes, undefined)
        await until(() => openSockets(server) === 0, 'the client to hang up')
      })
    })
  }

  it('retryOnce: dh_gen_retry is followed by a second set_client_DH_params and the key is created', async () => {
    let plainAnswers = 0
    const outgoing = ({ payload }: { payload: Uint8Array }) => {
      if (isPlainMessage(payload)) plainAnswers++
      return undefined
    }
    await withDc(
      { dcIds: [2], faults: { handshake: { retryOnce: true }, transport: { outgoing } } },
      async ({ server, open }) => {
        let created: Uint8Array | undefined
        const conn = open({
          onAuthKey: (k) => {
            created = k
          },
        })
        const config = (await conn.invoke({ _: 'help.getConfig' })) as TlValue
        assert.equal(config['thisDc'], 2)
        assert.equal(plainAnswers, 4, 'resPQ, server_DH_params_ok, dh_gen_retry, dh_gen_ok')
        assert.equal(server.stats.keysCreated, 1)
        assert.ok(created && server.keys.size === 1)
      },
    )
  })
})

describe('encrypted session: inbound messages that fail a check are dropped', () => {
  it('a corrupted frame: securityViolation (decrypt), reconnect, the call still succeeds', async () => {
    let corrupted = 0
    let server!: DcServer
    const outgoing = ({ payload }: { payload: Uint8Array }) => {
      const body = serverBody(server, payload)
      if (corrupted > 0 || !body || new DataView(body.buffer, body.byteOffset).getUint32(0, true) !== RPC_RESULT)
        return undefined
      corrupted++
      return { type: 'corrupt' as const }
    }
    await withDc({ dcIds: [2], faults: { transport: { outgoing } } }, async (env) => {
      server = env.server
      const conn = env.open()
      const violations: SessionSecurityError[] = []
      let ready = 0
      conn.on('securityViolation', (e) => violations.push(e))
      conn.on('ready', () => ready++)
      const config = (await conn.invoke({ _: 'help.getConfig' })) as TlValue
      assert.equal(config['thisDc'], 2)
      assert.equal(corrupted, 1)
      assert.deepEqual(
        violations.map((v) => v.check),
        ['decrypt'],
      )
      assert.equal(ready, 2, 'reconnected after the violation')
    })
  })

  const cases: { name: string; fault: SessionFaults; check: SessionSecurityError['check'] }[] = [
    { name: 'a message for another session_id', fault: { wrongSessionId: true }, check: 'session-id' },
    { name: 'an even msg_id', fault: { evenMsgId: true }, check: 'msg-id-parity' },
    { name: 'a msg_id 100 s in the future', fault: { msgIdOffsetSeconds: 100 }, check: 'time-window' },
    { name: 'a msg_id 1000 s in the past', fault: { msgIdOffsetSeconds: -1000 }, check: 'time-window' },
  ]
  for (const { name, fault, check } of cases) {
    it(`${name}: dropped (${check}), reconnect, the call is resent and succeeds`, async () => {
      let handled = 0
      const services = () => ({
        'help.getNearestDc': () => {
          handled++
          return { _: 'nearestDc', country: 'XX', thisDc: 2, nearestDc: 2 }
        },
      })
      await withDc({ dcIds: [2], services }, async ({ server, open }) => {
        const conn = open()
        await conn.invoke({ _: 'help.getConfig' })
        const violations: SessionSecurityError[] = []
        conn.on('securityViolation', (e) => {
          violations.push(e)
          server.faults.session = undefined // the DC behaves again: the resent call must get through
        })
        let ready = 0
        conn.on('ready', () => ready++)
        server.faults.session = fault
        const result = (await conn.invoke({ _: 'help.getNearestDc' })) as TlValue
        assert.equal(result['thisDc'], 2)
        assert.deepEqual(
          violations.map((v) => v.check),
          [check],
        )
        assert.equal(handled, 2, 'the dropped answer did not settle the call: it was sent again')
        assert.equal(ready, 1, 'reconnected once')
      })
    })
  }

  it('a replayed msg_id: the first copy is handled, the replay is dropped (replay); a call made meanwhile waits for the reconnect', async () => {
    let handled = 0
    const services = () => ({
      'help.getNearestDc': () => {
        handled++
        return { _: 'nearestDc', country: 'XX', thisDc: 2, nearestDc: 2 }
      },
    })
    await withDc({ dcIds: [2], services }, async ({ server, open }) => {
      const updates: TlValue[] = []
      const conn = open({ onUpdate: (u) => updates.push(u) })
      await conn.invoke({ _: 'help.getConfig' })
      let late: Promise<unknown> | undefined
      const violation = new Promise<SessionSecurityError>((resolve) =>
        conn.once('securityViolation', (e) => {
          server.faults.session = undefined
          // a call made while the client hangs up: it must wait for the reconnect, not throw
          late = conn.invoke({ _: 'help.getNearestDc' })
          resolve(e)
        }),
      )
      server.faults.session = { replayLast: true }
      const result = (await conn.invoke({ _: 'help.getNearestDc' })) as TlValue
      assert.equal(result['thisDc'], 2)
      assert.equal((await violation).check, 'replay')
      assert.equal(((await late) as TlValue)['thisDc'], 2)
      assert.equal(handled, 2, 'the replay was not handled as a second answer')
      assert.deepEqual(updates, [])
    })
  })
})

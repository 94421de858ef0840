// Drives the test DC's accounts handlers without a network: one registry, one dispatcher, fake RpcContexts per
// (DC, auth key) wired to the registry the way a DcServer is (ctx.userId from registry.cluster, the key check
// before dispatch). Every result is encoded and decoded with the real codec, so handlers must return wire-valid TL.
import assert from 'node:assert/strict'
import { tlCodec, type tl, type TlValue } from '../src/mtproto/tl/index.ts'
import { RpcDispatcher, type RpcContext } from '../src/testdc/rpc-dispatcher.ts'
import { RpcFailure } from '../src/testdc/rpc-failure.ts'
import { helpService } from '../src/testdc/services/help-service.ts'
import {
  AccountRegistry,
  accountsGuard,
  accountsServices,
  type AccountRegistryOptions,
  type CodeDelivery,
  type LoginTokenAccepted,
} from '../src/testdc/accounts/index.ts'

type Methods = tl.RpcMethods
type Request<M extends keyof Methods> = Methods[M]['request'] & { _: M }

export const API_ID = 2040
export const API_HASH = 'b18441a1ff607e10a989891a5462e627'
export const CODE_SETTINGS: tl.RawCodeSettings = { _: 'codeSettings' }

export interface FakeKey {
  ctx: RpcContext
  /** Updates pushed to this key's sessions. */
  updates: TlValue[]
  call<M extends keyof Methods>(req: Request<M>): Promise<Methods[M]['result']>
}

export class Harness {
  readonly registry: AccountRegistry
  readonly dispatcher: RpcDispatcher
  readonly codes: CodeDelivery[] = []
  readonly accepted: LoginTokenAccepted[] = []
  nowMs = Date.UTC(2025, 0, 1)
  private nextKeyId = 0x1000n

  constructor(opts: AccountRegistryOptions = {}) {
    this.registry = new AccountRegistry({
      now: () => this.nowMs,
      onCode: (d) => this.codes.push(d),
      onLoginTokenAccepted: (e) => this.accepted.push(e),
      ...opts,
    })
    this.dispatcher = new RpcDispatcher()
      .registerAll(helpService(1, () => []))
      .registerAll(accountsServices(this.registry))
      .guard(accountsGuard(this.registry))
  }

  advance(seconds: number): void {
    this.nowMs += seconds * 1000
  }

  /** The last code delivered for `phone`. */
  lastCode(phone: string): CodeDelivery {
    const d = this.codes.filter((c) => c.phone === phone).at(-1)
    assert.ok(d, `no code delivered for ${phone}`)
    return d
  }

  /** A new auth key on `dcId`, as the DC layer would present it. */
  key(dcId: number, authKeyId: bigint = this.nextKeyId++): FakeKey {
    const cluster = this.registry.cluster
    const updates: TlValue[] = []
    const ctx: RpcContext = {
      dcId,
      authKeyId,
      get userId() {
        return cluster.userOfKey(dcId, authKeyId)
      },
      layer: 223,
      client: {
        apiId: API_ID,
        deviceModel: `test device ${authKeyId}`,
        systemVersion: 'node',
        appVersion: '1.0',
        langCode: 'en',
      },
      authorize: (userId) => cluster.bindKey(dcId, authKeyId, userId),
      deauthorize: () => cluster.unbindKey(dcId, authKeyId),
      pushUpdate: (u) => updates.push(u),
    }
    const dispatcher = this.dispatcher
    return {
      ctx,
      updates,
      async call(req) {
        const rejection = cluster.keyRejection(dcId, authKeyId)
        if (rejection) throw new RpcFailure(rejection.code, rejection.message)
        const request = req as unknown as TlValue
        tlCodec.encode(request) // the request itself must be a valid TL call
        const result = await dispatcher.dispatch(request, ctx)
        return tlCodec.decodeResult(request, tlCodec.encodeResult(request, result)) as never
      },
    }
  }

  /** sendCode → the delivered code → signIn, on the phone's home DC; returns the logged-in key. */
  async login(phone: string, dcId: number): Promise<FakeKey> {
    const key = this.key(dcId)
    const sent = await key.call({
      _: 'auth.sendCode',
      phoneNumber: phone,
      apiId: API_ID,
      apiHash: API_HASH,
      settings: CODE_SETTINGS,
    })
    assert.equal(sent._, 'auth.sentCode')
    const res = await key.call({
      _: 'auth.signIn',
      phoneNumber: phone,
      phoneCodeHash: sent.phoneCodeHash,
      phoneCode: this.lastCode(phone).code,
    })
    assert.equal(res._, 'auth.authorization')
    return key
  }
}

/** Asserts that `p` fails with rpc_error `code` `message`. */
export async function rejectsWith(p: Promise<unknown>, code: number, message: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof RpcFailure, `expected an RpcFailure, got ${String(err)}`)
    assert.equal(`${err.code} ${err.errorMessage}`, `${code} ${message}`)
    return true
  })
}

export function sendCodeReq(phone: string): Request<'auth.sendCode'> {
  return { _: 'auth.sendCode', phoneNumber: phone, apiId: API_ID, apiHash: API_HASH, settings: CODE_SETTINGS }
}

/** phone_code_hash of a sendCode/resendCode answer (which must be auth.sentCode). */
export function hashOf(sent: tl.auth.TypeSentCode): string {
  assert.ok(sent._ === 'auth.sentCode', `expected auth.sentCode, got ${sent._}`)
  return sent.phoneCodeHash
}

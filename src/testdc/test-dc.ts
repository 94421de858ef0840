// startTestDc(): a local Telegram-compatible cluster — DCs 1–5 on loopback ports chosen by the OS, one RSA key
// pair, help.getConfig telling clients where the other DCs are — for tests, benchmarks and the demo.
import { readFileSync } from 'node:fs'
import {
  generateRsaKeyPair,
  parseRsaPrivateKey,
  rsaPublicKeyToPem,
  type RsaPrivateKey,
  type RsaPublicKey,
} from '../mtproto/crypto/rsa-keys.ts'
import { DcServer, type DcCluster, type DcFaults } from './dc-server.ts'
import { inlineHandshakeMath, threadedHandshakeMath } from './handshake-math.ts'
import type { DcLimits } from './dc-limits.ts'
import { RpcDispatcher, type RpcHandler } from './rpc-dispatcher.ts'
import { helpService, type DcEndpoint } from './services/help-service.ts'
import { accountsGuard, accountsServices, type AccountRegistry } from './accounts/index.ts'

export interface TestDcOptions {
  /** DC ids to run (default 1–5). */
  dcIds?: number[]
  host?: string
  /** The server's RSA key: a key, or a PEM file path; generated when absent (one per process, cached). */
  rsaKey?: RsaPrivateKey | string
  /** Fault knobs for every DC, or per DC id. */
  faults?: DcFaults | Record<number, DcFaults>
  /** Bounds of every DC (connections, timeouts, buffers, gzip, sessions, keys); unset knobs keep DEFAULT_DC_LIMITS. */
  limits?: Partial<DcLimits>
  /** Extra RPC handlers per DC (the accounts API plugs in here). */
  services?: (dcId: number) => Record<string, RpcHandler>
  /** Login state and key checks (the accounts API provides them; by default keys log in through `bindKey`). */
  cluster?: Partial<DcCluster>
  /** The accounts API: its handlers on every DC and its login bookkeeping as the cluster. */
  accounts?: AccountRegistry
  /**
   * Threads of their own for key exchanges' arithmetic (primes, RSA, modexps), shared by every DC; 0 (the default)
   * computes them on the DC's thread. A DC serving many logins at once wants them: RPCs are then not held behind
   * other clients' key exchanges.
   */
  cryptoThreads?: number
}

export interface TestDc {
  dcs: DcEndpoint[]
  host: string
  /** The public key clients must trust (n, e, fingerprint as a TL long), with its PEM. */
  publicKey: RsaPublicKey & { pem: string }
  rsaKey: RsaPrivateKey
  dc(id: number): DcServer
  portOf(id: number): number
  stop(): Promise<void>
}

let generatedKey: RsaPrivateKey | undefined

function resolveKey(key: TestDcOptions['rsaKey']): RsaPrivateKey {
  if (key === undefined) return (generatedKey ??= generateRsaKeyPair(2048))
  if (typeof key === 'string') return parseRsaPrivateKey(readFileSync(key, 'utf8'))
  return key
}

function isPerDc(f: TestDcOptions['faults']): f is Record<number, DcFaults> {
  return f !== undefined && Object.keys(f).some((k) => /^\d+$/.test(k))
}

/** Default login bookkeeping: which user each (dc, auth key) is logged in as. */
export class KeyBindings implements DcCluster {
  private readonly users = new Map<string, bigint>()
  userOfKey(dcId: number, authKeyId: bigint): bigint | null {
    return this.users.get(`${dcId}:${authKeyId}`) ?? null
  }
  bindKey(dcId: number, authKeyId: bigint, userId: bigint): void {
    this.users.set(`${dcId}:${authKeyId}`, userId)
  }
  unbindKey(dcId: number, authKeyId: bigint): void {
    this.users.delete(`${dcId}:${authKeyId}`)
  }
  forgetKey(dcId: number, authKeyId: bigint): void {
    this.users.delete(`${dcId}:${authKeyId}`)
  }
}

export async function startTestDc(opts: TestDcOptions = {}): Promise<TestDc> {
  const host = opts.host ?? '127.0.0.1'
  const ids = opts.dcIds ?? [1, 2, 3, 4, 5]
  const rsaKey = resolveKey(opts.rsaKey)
  const bindings = new KeyBindings()
  const given = opts.cluster ?? opts.accounts?.cluster
  const cluster: DcCluster = {
    userOfKey: given?.userOfKey ?? ((d, k) => bindings.userOfKey(d, k)),
    bindKey: given?.bindKey ?? ((d, k, u) => bindings.bindKey(d, k, u)),
    unbindKey: given?.unbindKey ?? ((d, k) => bindings.unbindKey(d, k)),
    forgetKey: given?.forgetKey ?? (given?.unbindKey ? undefined : (d, k) => bindings.forgetKey(d, k)),
    ...(given?.keyRejection ? { keyRejection: given.keyRejection } : {}),
    ...(given?.keyActive ? { keyActive: given.keyActive } : {}),
  }
  const math =
    (opts.cryptoThreads ?? 0) > 0 ? threadedHandshakeMath(rsaKey, opts.cryptoThreads!) : inlineHandshakeMath(rsaKey)
  const servers = new Map<number, DcServer>()
  const endpoints = (): DcEndpoint[] => [...servers.values()].map((s) => ({ id: s.id, host, port: s.port }))
  for (const id of ids) {
    const dispatcher = new RpcDispatcher().registerAll(helpService(id, endpoints))
    if (opts.accounts) dispatcher.registerAll(accountsServices(opts.accounts)).guard(accountsGuard(opts.accounts))
    if (opts.services) dispatcher.registerAll(opts.services(id))
    const faults = isPerDc(opts.faults) ? (opts.faults[id] ?? {}) : (opts.faults ?? {})
    servers.set(id, new DcServer(id, host, cluster, rsaKey, dispatcher, faults, opts.limits, math))
  }
  try {
    await Promise.all([...servers.values()].map((s) => s.listen(0)))
  } catch (err) {
    await Promise.all([...servers.values()].map((s) => s.close().catch(() => {})))
    await math.close()
    throw err
  }
  return {
    dcs: endpoints(),
    host,
    publicKey: {
      pem: rsaPublicKeyToPem(rsaKey),
      fingerprint: rsaKey.fingerprint,
      n: rsaKey.n,
      e: rsaKey.e,
      size: rsaKey.size,
    },
    rsaKey,
    dc: (id) => {
      const s = servers.get(id)
      if (!s) throw new RangeError(`no DC ${id} in this test DC`)
      return s
    },
    portOf: (id) => servers.get(id)?.port ?? 0,
    stop: async () => {
      await Promise.all([...servers.values()].map((s) => s.close()))
      await math.close()
    },
  }
}

// The costly arithmetic of the server side of a key exchange — pq's two primes, the RSA private operation on
// req_DH_params, g^a and g_b^a — on the DC's own thread, or on threads of their own. Telegram answers one client's
// RPC without waiting for other clients' key exchanges; a test DC that did these on its event loop would hold
// every signIn behind them (measured: under a 1,000-login burst, signIn took 78 ms at the median on one thread).
import { generatePrimeSync } from 'node:crypto'
import { Worker } from 'node:worker_threads'
import { bigIntFromBytes, leftPadBytes } from '../mtproto/crypto/bytes.ts'
import { DhGroup, TELEGRAM_DH_PRIME } from '../mtproto/crypto/dh.ts'
import type { RsaPrivateKey } from '../mtproto/crypto/rsa-keys.ts'
import { rsaPadDecrypt, rsaPadUnwrap } from '../mtproto/crypto/rsa-pad.ts'
import { SecurityCheckError } from '../mtproto/crypto/security-check-error.ts'

/** The DH generator the test DC uses with Telegram's prime (p mod 24 = 11 passes g = 3). */
export const DC_DH_G = 3
/** The nice value of a math thread: RPCs on the DC's thread (nice 0) go first when both want the CPU. */
const MATH_THREAD_NICE = 10
/** The 2048-bit DH numbers, as bytes. */
const DH_BYTES = 256

export interface HandshakeMath {
  /** Two distinct primes below 2^31, the smaller first (their product is resPQ's pq, under 2^63 as Telegram's). */
  pqPrimes(): Promise<{ p: bigint; q: bigint }>
  /** RSA_PAD's data_with_padding, or null when its hash does not match (the client may use the older scheme). */
  rsaPadDecrypt(encrypted: Uint8Array): Promise<Uint8Array | null>
  /** g^a mod p, 256 bytes. */
  powG(a: Uint8Array): Promise<Uint8Array>
  /** base^a mod p, 256 bytes. */
  pow(base: Uint8Array, a: Uint8Array): Promise<Uint8Array>
  close(): Promise<void>
}

/** The operations themselves, for the DC's thread and for a math thread alike. */
export class HandshakeArithmetic {
  private readonly group = DhGroup.of(TELEGRAM_DH_PRIME, DC_DH_G)

  constructor(private readonly rsaKey: RsaPrivateKey) {}

  pqPrimes(): { p: bigint; q: bigint } {
    const p = generatePrimeSync(31, { bigint: true })
    let q = generatePrimeSync(31, { bigint: true })
    while (q === p) q = generatePrimeSync(31, { bigint: true })
    return p < q ? { p, q } : { p: q, q: p }
  }

  rsaPadDecrypt(encrypted: Uint8Array): Uint8Array | null {
    try {
      return rsaPadDecrypt(encrypted, this.rsaKey)
    } catch (err) {
      if (err instanceof SecurityCheckError) return null
      throw err
    }
  }

  powG(a: Uint8Array): Uint8Array {
    return this.group.powG(a)
  }

  pow(base: Uint8Array, a: Uint8Array): Uint8Array {
    return this.group.pow(base, a)
  }
}

/** The arithmetic on the caller's thread (the default: a test DC in a test process starts no threads). */
export function inlineHandshakeMath(rsaKey: RsaPrivateKey): HandshakeMath {
  const math = new HandshakeArithmetic(rsaKey)
  return {
    pqPrimes: async () => math.pqPrimes(),
    rsaPadDecrypt: async (encrypted) => math.rsaPadDecrypt(encrypted),
    powG: async (a) => math.powG(a),
    pow: async (base, a) => math.pow(base, a),
    close: async () => undefined,
  }
}

/**
 * What a math thread runs: plain JavaScript on node:crypto only, so it needs no TypeScript loader (a thread that
 * loads .ts through tsx can start before the loader does) and runs the same from dist/. It does the costly steps
 * only; range checks, padding and RSA_PAD's hashes stay with HandshakeArithmetic's callers.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const { constants, createDiffieHellman, createPrivateKey, generatePrimeSync, privateDecrypt } = require('node:crypto')
const dh = createDiffieHellman(Buffer.from(workerData.prime), workerData.g)
const key = createPrivateKey(workerData.rsaKeyPem)
const prime31 = () => generatePrimeSync(31, { bigint: true })
// Key exchanges may wait; the DC's own thread answering RPCs may not (on Linux this is the thread's nice value).
try { require('node:os').setPriority(${MATH_THREAD_NICE}) } catch {}
parentPort.on('message', (m) => {
  try {
    let value
    if (m.op === 'primes') {
      const p = prime31()
      let q = prime31()
      while (q === p) q = prime31()
      value = p < q ? [p, q] : [q, p]
    } else if (m.op === 'rsa') {
      value = privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, m.input)
    } else {
      dh.setPrivateKey(m.exponent)
      value = m.base ? dh.computeSecret(m.base) : dh.generateKeys()
    }
    parentPort.postMessage({ id: m.id, value })
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String((err && err.message) || err) })
  }
})
`

/** Raised when a math thread failed or is gone. */
export class HandshakeMathError extends Error {
  override readonly name = 'HandshakeMathError'
}

type ThreadRequest =
  { op: 'primes' } | { op: 'rsa'; input: Uint8Array } | { op: 'modpow'; exponent: Uint8Array; base?: Uint8Array }

/** One math thread and the answers it owes. */
class MathThread {
  private readonly worker: Worker
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>()
  private nextId = 0
  private gone: Error | undefined

  constructor(data: { prime: Uint8Array; g: number; rsaKeyPem: string }) {
    // execArgv []: the test runner's --import flags (tsx) are not wanted in a thread of plain JavaScript.
    this.worker = new Worker(THREAD_SOURCE, { eval: true, workerData: data, execArgv: [] })
    // A DC that is not stopped must not be kept alive by its arithmetic threads.
    this.worker.unref()
    this.worker.on('message', (m: { id: number; value?: unknown; error?: string }) => {
      const waiter = this.pending.get(m.id)
      if (!waiter) return
      this.pending.delete(m.id)
      if (m.error !== undefined) waiter.reject(new HandshakeMathError(m.error))
      else waiter.resolve(m.value)
    })
    const fail = (err: Error): void => {
      this.gone ??= err
      for (const w of this.pending.values()) w.reject(this.gone)
      this.pending.clear()
    }
    this.worker.on('error', (err) => fail(new HandshakeMathError(`a math thread failed: ${err.message}`)))
    this.worker.on('exit', (code) => fail(new HandshakeMathError(`a math thread exited (${code})`)))
  }

  get load(): number {
    return this.gone ? Number.POSITIVE_INFINITY : this.pending.size
  }

  run<T>(request: ThreadRequest): Promise<T> {
    if (this.gone) return Promise.reject(this.gone)
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      this.worker.postMessage({ id, ...request })
    })
  }

  async close(): Promise<void> {
    this.gone ??= new HandshakeMathError('the test DC stopped')
    await this.worker.terminate()
  }
}

/** The arithmetic on `threads` threads of its own (`gramfarm testdc --crypto-threads`). */
export function threadedHandshakeMath(rsaKey: RsaPrivateKey, threads: number): HandshakeMath {
  const inline = new HandshakeArithmetic(rsaKey)
  const group = DhGroup.of(TELEGRAM_DH_PRIME, DC_DH_G)
  const data = {
    prime: TELEGRAM_DH_PRIME,
    g: DC_DH_G,
    rsaKeyPem: rsaKey.keyObject.export({ type: 'pkcs8', format: 'pem' }) as string,
  }
  const pool = Array.from({ length: Math.max(1, threads) }, () => new MathThread(data))
  const run = <T>(request: ThreadRequest): Promise<T> =>
    pool.reduce((a, b) => (b.load < a.load ? b : a)).run<T>(request)
  /** base^a (g^a without a base) on a thread when it is the plain case OpenSSL takes; otherwise here. */
  const modPow = async (a: Uint8Array, base?: Uint8Array): Promise<Uint8Array> => {
    const b = base === undefined ? undefined : bigIntFromBytes(base)
    const plain = a.length <= DH_BYTES && a.some((v) => v !== 0) && (b === undefined || (b > 1n && b < group.p - 1n))
    if (!plain) return base === undefined ? inline.powG(a) : inline.pow(base, a)
    const value = await run<Uint8Array>({ op: 'modpow', exponent: a, ...(base ? { base } : {}) })
    // OpenSSL drops leading zero bytes (1 time in 256): the protocol's numbers are 256 bytes.
    return leftPadBytes(value, DH_BYTES)
  }
  return {
    pqPrimes: async () => {
      const [p, q] = await run<[bigint, bigint]>({ op: 'primes' })
      return { p, q }
    },
    rsaPadDecrypt: async (encrypted) => {
      // The same input check as rsaPrivateRaw: y must be the key's size and below n.
      if (encrypted.length !== rsaKey.size || bigIntFromBytes(encrypted) >= rsaKey.n) return null
      const x = await run<Uint8Array>({ op: 'rsa', input: encrypted })
      try {
        return rsaPadUnwrap(x)
      } catch (err) {
        if (err instanceof SecurityCheckError) return null
        throw err
      }
    },
    powG: (a) => modPow(a),
    pow: (base, a) => modPow(a, base),
    close: async () => {
      await Promise.all(pool.map((t) => t.close()))
    },
  }
}

// Bridges a SessionStorage (async, one record) to the protocol client's AuthKeyStore (sync, per DC): keys
// live in memory and every change is written through; `flush()` waits for the writes.
import type { AuthKeyStore } from '../mtproto/client/mtproto-client.ts'
import type { SessionPatch, SessionRecord, SessionStorage } from './storage/index.ts'

export class SessionKeyStore implements AuthKeyStore {
  homeDc: number
  private readonly keys = new Map<number, { authKey: Uint8Array; serverSalt?: bigint }>()
  private writes: Promise<void> = Promise.resolve()
  private writeError: unknown

  constructor(
    private readonly storage: SessionStorage,
    record: SessionRecord | null,
    defaultDc: number,
  ) {
    this.homeDc = record?.dcId ?? defaultDc
    if (record) {
      this.keys.set(record.dcId, { authKey: record.authKey })
      for (const [dc, key] of Object.entries(record.dcAuthKeys ?? {})) this.keys.set(Number(dc), { authKey: key })
    }
  }

  get(dcId: number): { authKey: Uint8Array; serverSalt?: bigint } | undefined {
    return this.keys.get(dcId)
  }

  set(dcId: number, authKey: Uint8Array, serverSalt: bigint): void {
    this.keys.set(dcId, { authKey, serverSalt })
    this.persist()
  }

  delete(dcId: number): void {
    this.keys.delete(dcId)
    this.persist()
  }

  /** Makes `dcId` the account's DC (after *_MIGRATE or a QR migration). */
  setHome(dcId: number): void {
    this.homeDc = dcId
    this.persist()
  }

  /** Writes the keys and any extra fields (user id, bot flag…) through to the storage. */
  persist(extra: SessionPatch = {}): void {
    const home = this.keys.get(this.homeDc)
    const others: Record<number, Uint8Array> = {}
    for (const [dc, k] of this.keys) if (dc !== this.homeDc) others[dc] = k.authKey
    const patch: SessionPatch = {
      dcId: this.homeDc,
      ...(home ? { authKey: home.authKey } : {}),
      dcAuthKeys: others,
      ...extra,
    }
    // A record without an auth key cannot be saved yet; it will be once the home DC has one.
    if (!home && !extra.authKey) return
    this.writes = this.writes
      .then(() => this.storage.save(patch))
      .catch((err: unknown) => {
        this.writeError = err
      })
  }

  /** Waits for pending writes; rethrows the first write error. */
  async flush(): Promise<void> {
    await this.writes
    if (this.writeError) {
      const err = this.writeError
      this.writeError = undefined
      throw err
    }
  }
}

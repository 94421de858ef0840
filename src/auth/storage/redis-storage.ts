// Sessions in Redis for the farm: one hash per session at `<prefix><name>`, its peer cache in `<prefix><name>:peers`.
// Binary fields (auth keys) are stored as raw bytes. Single ownership is the worker lease's job, not this engine's.
//
// Session hash fields: dcId, apiId, testMode, authKey, date, userId, isBot, serverHost, serverPort, device (JSON),
// dcKey:<dcId> (raw key per other DC). Absent field = null.
// Peers hash fields: id:<id> → JSON {accessHash, type, username, phone, updatedAt}; u:<username> → id; p:<phone> → id.
import { phoneDigits } from '../../foundation/phone-number.ts'
import { Keyring, SealedValueError, type Sealer } from '../../foundation/sealed-value.ts'
import type { Cluster, Redis } from 'ioredis'
import { SessionStorageError } from './errors.ts'
import {
  AUTH_KEY_LENGTH,
  applyPatch,
  checkPeer,
  emptySessionState,
  isPeerType,
  isUsernameFresh,
  normalizeUsername,
  nowSeconds,
  parseDevice,
  stateToRecord,
  type CachedPeer,
  type SessionPatch,
  type SessionRecord,
  type SessionState,
  type SessionStorage,
} from './session-storage.ts'

export const DEFAULT_REDIS_KEY_PREFIX = 'gramfarm:session:'

export interface RedisSessionStorageOptions {
  /** A connection owned by the caller (the farm shares one); close() leaves it open. */
  /** A single Redis or a Cluster connection (a session's keys share one hash tag). */
  readonly redis: Redis | Cluster
  /** Session id, e.g. the account's phone or uuid. No ':' (it would collide with our sub-keys). */
  readonly name: string
  readonly keyPrefix?: string
  /**
   * Seals the auth keys (authKey, dcKey:<dc>) under the farm's master key, bound to this session's key name. Without
   * one they are stored as raw bytes, as before; raw keys already stored are still read unless encryption is required.
   */
  readonly sealer?: Sealer
  /**
   * The record's lifetime in Redis, counted from its last write (both keys get it; a save or a peer write starts it
   * again). Absent: kept until deleted.
   */
  readonly ttlSeconds?: number
  /**
   * false: open() does not PING first. For a caller whose connection is shared and known to be in use (the farm's
   * workers): a Redis that is down fails the load or save that follows just as well. Default true.
   */
  readonly checkOnOpen?: boolean
  /**
   * true: this instance is the session's only writer while it is open (a farm worker's login client: its job holds
   * the account's claim), so save() builds on the state it last loaded or wrote instead of reading the whole hash
   * again (and opening its sealed keys) before every write. Default false: every save reads first.
   */
  readonly soleWriter?: boolean
}

interface StoredPeer {
  readonly accessHash: string
  readonly type: string
  readonly username: string | null
  readonly phone: string | null
  readonly updatedAt: number
}

const DC_KEY_FIELD = 'dcKey:'

function parseStoredPeer(id: bigint, json: string | null): CachedPeer | null {
  if (json === null) return null
  try {
    const v = JSON.parse(json) as Partial<StoredPeer>
    if (typeof v.accessHash !== 'string' || !isPeerType(v.type) || typeof v.updatedAt !== 'number') return null
    return {
      id,
      accessHash: BigInt(v.accessHash),
      type: v.type,
      username: typeof v.username === 'string' ? v.username : null,
      phone: typeof v.phone === 'string' ? v.phone : null,
      updatedAt: v.updatedAt,
    }
  } catch {
    return null
  }
}

export class RedisSessionStorage implements SessionStorage {
  readonly key: string
  readonly peersKey: string
  private readonly redis: Redis | Cluster
  private readonly sealer: Sealer
  private readonly ttlSeconds: number | undefined
  private readonly checkOnOpen: boolean
  private readonly soleWriter: boolean
  /**
   * soleWriter: the stored state as this instance last read or wrote it, and the hash's field names then (null:
   * unknown, read it).
   */
  private known: { state: SessionState; fields: readonly string[] } | null = null
  private opened = false

  constructor(options: RedisSessionStorageOptions) {
    if (!options.name || options.name.includes(':')) {
      throw new SessionStorageError('INVALID_DATA', "session name must be non-empty and contain no ':'")
    }
    this.redis = options.redis
    this.sealer = options.sealer ?? Keyring.clear()
    if (options.ttlSeconds !== undefined && (!Number.isInteger(options.ttlSeconds) || options.ttlSeconds < 1))
      throw new SessionStorageError('INVALID_DATA', 'a session TTL is a whole number of seconds (>= 1)')
    this.ttlSeconds = options.ttlSeconds
    this.checkOnOpen = options.checkOnOpen ?? true
    this.soleWriter = options.soleWriter ?? false
    this.key = (options.keyPrefix ?? DEFAULT_REDIS_KEY_PREFIX) + options.name
    this.peersKey = `${this.key}:peers`
  }

  /** Every key this session owns (what delete() removes). */
  get keys(): readonly string[] {
    return [this.key, this.peersKey]
  }

  async open(): Promise<void> {
    if (this.checkOnOpen) await this.io(() => this.redis.ping(), 'reach Redis')
    this.opened = true
  }

  async load(): Promise<SessionRecord | null> {
    this.assertOpen()
    const hash = await this.readHash()
    const state = this.stateOf(hash)
    if (this.soleWriter) this.known = { state, fields: Object.keys(hash) }
    return stateToRecord(state)
  }

  async save(patch: SessionPatch): Promise<void> {
    this.assertOpen()
    const known = this.known
    const next = applyPatch(known?.state ?? this.stateOf(await this.readHash()), patch)
    const fields: Record<string, string | Buffer> = {
      dcId: String(next.dcId),
      testMode: next.testMode ? '1' : '0',
      date: String(next.date),
    }
    if (next.apiId !== null) fields['apiId'] = String(next.apiId)
    if (next.authKey) fields['authKey'] = this.storedKey('authKey', next.authKey)
    if (next.userId !== null) fields['userId'] = next.userId.toString()
    if (next.isBot !== null) fields['isBot'] = next.isBot ? '1' : '0'
    if (next.server) {
      fields['serverHost'] = next.server.host
      fields['serverPort'] = String(next.server.port)
    }
    if (next.device) fields['device'] = JSON.stringify(next.device)
    for (const [dc, key] of next.dcAuthKeys) fields[DC_KEY_FIELD + dc] = this.storedKey(DC_KEY_FIELD + dc, key)
    // Replace the hash whole, atomically: readers never see half of an update (nor a record without its TTL). When
    // the fields stored are known (soleWriter), those the new record lacks go by name instead of the whole hash.
    const tx = this.redis.multi()
    if (known === null) tx.del(this.key)
    else {
      const gone = known.fields.filter((f) => !(f in fields))
      if (gone.length > 0) tx.hdel(this.key, ...gone)
    }
    this.known = null // until the write is known to have landed
    await this.exec(this.withTtl(tx.hset(this.key, fields)), 'write session')
    if (this.soleWriter) this.known = { state: next, fields: Object.keys(fields) }
  }

  async delete(): Promise<void> {
    this.known = null
    await this.io(() => this.redis.del(...this.keys), 'delete session')
    this.opened = false
  }

  async close(): Promise<void> {
    this.known = null
    this.opened = false
  }

  async putPeers(peers: readonly CachedPeer[]): Promise<void> {
    this.assertOpen()
    const checked = peers.map(checkPeer)
    if (checked.length === 0) return
    const idFields = checked.map((p) => `id:${p.id}`)
    const previous = await this.io(() => this.redis.hmget(this.peersKey, ...idFields), 'read peers')
    const now = nowSeconds()
    const tx = this.redis.multi()
    checked.forEach((peer, i) => {
      const old = parseStoredPeer(peer.id, previous[i] ?? null)
      // Drop index entries that pointed at this peer's old username/phone.
      if (old?.username && old.username !== peer.username) tx.hdel(this.peersKey, `u:${old.username}`)
      if (old?.phone && old.phone !== peer.phone) tx.hdel(this.peersKey, `p:${old.phone}`)
      const stored: StoredPeer = {
        accessHash: peer.accessHash.toString(),
        type: peer.type,
        username: peer.username,
        phone: peer.phone,
        updatedAt: now,
      }
      const fields: Record<string, string> = { [`id:${peer.id}`]: JSON.stringify(stored) }
      if (peer.username) fields[`u:${peer.username}`] = peer.id.toString()
      if (peer.phone) fields[`p:${peer.phone}`] = peer.id.toString()
      tx.hset(this.peersKey, fields)
    })
    await this.exec(this.withTtl(tx), 'write peers')
  }

  async getPeerById(id: bigint): Promise<CachedPeer | null> {
    this.assertOpen()
    return parseStoredPeer(id, await this.io(() => this.redis.hget(this.peersKey, `id:${id}`), 'read peer'))
  }

  async getPeerByUsername(username: string): Promise<CachedPeer | null> {
    const peer = await this.byIndex(`u:${normalizeUsername(username)}`)
    return peer && isUsernameFresh(peer.updatedAt ?? 0) ? peer : null
  }

  async getPeerByPhone(phone: string): Promise<CachedPeer | null> {
    return this.byIndex(`p:${phoneDigits(phone)}`)
  }

  private async byIndex(field: string): Promise<CachedPeer | null> {
    this.assertOpen()
    const id = await this.io(() => this.redis.hget(this.peersKey, field), 'read peer index')
    if (id === null || !/^-?\d+$/.test(id)) return null
    return this.getPeerById(BigInt(id))
  }

  private readHash(): Promise<Record<string, Buffer>> {
    return this.io(() => this.redis.hgetallBuffer(this.key), 'read session')
  }

  private stateOf(hash: Record<string, Buffer>): SessionState {
    const state = emptySessionState()
    const text = (field: string): string | null => hash[field]?.toString('utf8') ?? null
    const int = (field: string): number | null => {
      const v = text(field)
      return v !== null && /^\d+$/.test(v) ? Number(v) : null
    }
    state.dcId = int('dcId') ?? state.dcId
    state.apiId = int('apiId')
    state.testMode = text('testMode') === '1'
    state.date = int('date') ?? 0
    const userId = text('userId')
    state.userId = userId !== null && /^-?\d+$/.test(userId) ? BigInt(userId) : null
    const isBot = text('isBot')
    state.isBot = isBot === null ? null : isBot === '1'
    const authKey = this.readKey('authKey', hash['authKey'])
    if (authKey && authKey.length === AUTH_KEY_LENGTH) state.authKey = new Uint8Array(authKey)
    const host = text('serverHost')
    const port = int('serverPort')
    if (host && port) state.server = { host, port }
    const device = text('device')
    if (device) {
      try {
        state.device = parseDevice(JSON.parse(device))
      } catch {
        state.device = null
      }
    }
    for (const [field, value] of Object.entries(hash)) {
      if (!field.startsWith(DC_KEY_FIELD)) continue
      const dc = Number(field.slice(DC_KEY_FIELD.length))
      const key = this.readKey(field, value)
      if (Number.isInteger(dc) && dc > 0 && key && key.length === AUTH_KEY_LENGTH)
        state.dcAuthKeys.set(dc, new Uint8Array(key))
    }
    return state
  }

  /** Adds the record's lifetime to a write (EXPIRE of a key that does not exist does nothing). */
  private withTtl(tx: ReturnType<Redis['multi']>): ReturnType<Redis['multi']> {
    if (this.ttlSeconds === undefined) return tx
    return tx.expire(this.key, this.ttlSeconds).expire(this.peersKey, this.ttlSeconds)
  }

  /** An auth key as stored: sealed when the farm has a master key, else raw bytes. */
  private storedKey(field: string, key: Uint8Array): string | Buffer {
    return this.sealer.encrypting ? this.sealer.seal(key, `${this.key}#${field}`) : Buffer.from(key)
  }

  /** An auth key as read: opened if sealed (SealedValueError if it does not open), raw bytes as they are. */
  private readKey(field: string, stored: Buffer | undefined): Buffer | null {
    if (!stored) return null
    if (Keyring.isSealed(stored)) return this.sealer.open(stored.toString('latin1'), `${this.key}#${field}`)
    if (this.sealer.requireEncryption) throw new SealedValueError('clear-refused', `${this.key}#${field}`)
    return stored
  }

  private async io<T>(fn: () => Promise<T>, what: string): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      throw new SessionStorageError('IO', `Redis: cannot ${what} for ${this.key}`, { cause: err })
    }
  }

  /** MULTI/EXEC reports per-command errors in its result instead of rejecting: surface them. */
  private async exec(tx: ReturnType<Redis['multi']>, what: string): Promise<void> {
    const results = await this.io(() => tx.exec(), what)
    const failed = results?.find(([err]) => err !== null)
    if (!results || failed) {
      throw new SessionStorageError('IO', `Redis: cannot ${what} for ${this.key}`, { cause: failed?.[0] ?? undefined })
    }
  }

  private assertOpen(): void {
    if (!this.opened) throw new SessionStorageError('NOT_OPEN', `session storage ${this.key} is not open`)
  }
}

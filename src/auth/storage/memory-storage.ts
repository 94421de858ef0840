// In-process session storage: tests, short-lived clients, and the base of the string-backed engine.
import { phoneDigits } from '../../foundation/phone-number.ts'
import { SessionStorageError } from './errors.ts'
import {
  applyPatch,
  checkPeer,
  emptySessionState,
  isUsernameFresh,
  normalizeUsername,
  nowSeconds,
  stateToRecord,
  type CachedPeer,
  type SessionPatch,
  type SessionRecord,
  type SessionState,
  type SessionStorage,
} from './session-storage.ts'

/** Peer cache kept in maps, indexed the way Pyrogram's tables are (id, username, phone). */
export class MemoryPeerCache {
  private readonly byId = new Map<bigint, Required<CachedPeer>>()
  private readonly idByUsername = new Map<string, bigint>()
  private readonly idByPhone = new Map<string, bigint>()

  put(peers: readonly CachedPeer[], now = nowSeconds()): void {
    for (const raw of peers) {
      const peer = { ...checkPeer(raw), updatedAt: now }
      const old = this.byId.get(peer.id)
      if (old?.username && this.idByUsername.get(old.username) === peer.id) this.idByUsername.delete(old.username)
      if (old?.phone && this.idByPhone.get(old.phone) === peer.id) this.idByPhone.delete(old.phone)
      this.byId.set(peer.id, peer)
      if (peer.username) this.idByUsername.set(peer.username, peer.id)
      if (peer.phone) this.idByPhone.set(peer.phone, peer.id)
    }
  }

  byPeerId(id: bigint): CachedPeer | null {
    const peer = this.byId.get(id)
    return peer ? { ...peer } : null
  }

  byUsername(username: string, now = nowSeconds()): CachedPeer | null {
    const id = this.idByUsername.get(normalizeUsername(username))
    const peer = id === undefined ? undefined : this.byId.get(id)
    return peer && isUsernameFresh(peer.updatedAt, now) ? { ...peer } : null
  }

  byPhone(phone: string): CachedPeer | null {
    const id = this.idByPhone.get(phoneDigits(phone))
    const peer = id === undefined ? undefined : this.byId.get(id)
    return peer ? { ...peer } : null
  }

  clear(): void {
    this.byId.clear()
    this.idByUsername.clear()
    this.idByPhone.clear()
  }
}

export class MemorySessionStorage implements SessionStorage {
  protected state: SessionState = emptySessionState()
  protected readonly peers = new MemoryPeerCache()
  private opened = false

  async open(): Promise<void> {
    this.opened = true
  }

  async load(): Promise<SessionRecord | null> {
    this.assertOpen()
    return stateToRecord(this.state)
  }

  async save(patch: SessionPatch): Promise<void> {
    this.assertOpen()
    this.state = applyPatch(this.state, patch)
  }

  async delete(): Promise<void> {
    this.state = emptySessionState()
    this.peers.clear()
    this.opened = false
  }

  async close(): Promise<void> {
    this.opened = false
  }

  async putPeers(peers: readonly CachedPeer[]): Promise<void> {
    this.assertOpen()
    this.peers.put(peers)
  }

  async getPeerById(id: bigint): Promise<CachedPeer | null> {
    this.assertOpen()
    return this.peers.byPeerId(id)
  }

  async getPeerByUsername(username: string): Promise<CachedPeer | null> {
    this.assertOpen()
    return this.peers.byUsername(username)
  }

  async getPeerByPhone(phone: string): Promise<CachedPeer | null> {
    this.assertOpen()
    return this.peers.byPhone(phone)
  }

  protected assertOpen(): void {
    if (!this.opened) throw new SessionStorageError('NOT_OPEN', 'session storage is not open')
  }
}

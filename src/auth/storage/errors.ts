// Typed errors of the session storage layer. Messages never carry auth keys or session strings:
// callers log them as they are.
import { AuthError } from '../auth-error.ts'

export type SessionStorageErrorCode =
  | 'NOT_OPEN' // a method was called before open() or after close()
  | 'INVALID_DATA' // a value handed to save()/putPeers() is out of range
  | 'NO_SESSION' // an export was asked of a storage that holds no auth key
  | 'IO' // the backing store failed (file system, Redis)
  | 'SESSION_LOCKED'
  | 'SESSION_STRING_INVALID'
  | 'SESSION_FORMAT'

export class SessionStorageError extends AuthError {
  override readonly name: string = 'SessionStorageError'
  readonly code: SessionStorageErrorCode

  constructor(code: SessionStorageErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
  }

  /** The backing store (a file system, Redis) failed: it may answer on another try. */
  override get transient(): boolean {
    return this.code === 'IO'
  }
}

/** Who holds a session lock, as written in its lock file. */
export interface SessionLockOwner {
  readonly pid: number
  readonly host: string
  /** Unix milliseconds when the lock was taken. */
  readonly since: number
}

/**
 * Another process (or another storage in this one) owns the session. Two owners on one auth key is how accounts
 * end up with AUTH_KEY_DUPLICATED, so this is never retried silently.
 */
export class SessionLockedError extends SessionStorageError {
  override readonly name = 'SessionLockedError'
  readonly lockPath: string
  /** null when the lock file could not be read (being written, or corrupt and recent). */
  readonly owner: SessionLockOwner | null

  constructor(lockPath: string, owner: SessionLockOwner | null) {
    const who = owner
      ? `pid ${owner.pid} on ${owner.host} since ${new Date(owner.since).toISOString()}`
      : 'an unknown owner'
    super('SESSION_LOCKED', `session is locked by ${who} (${lockPath})`)
    this.lockPath = lockPath
    this.owner = owner
  }
}

export type SessionStringErrorReason =
  | 'empty'
  | 'length' // no known format has this length
  | 'encoding' // not base64 / base64url
  | 'version' // Telethon/GramJS version character is not '1'
  | 'layout' // the bytes do not fit the format's fields
  | 'no-auth-key' // the key is all zeros
  | 'unsupported' // the record cannot be expressed in this format (e.g. a hostname in a Telethon string)

/** A session string could not be decoded or encoded. The string itself is never part of the message. */
export class SessionStringError extends SessionStorageError {
  override readonly name = 'SessionStringError'
  readonly reason: SessionStringErrorReason

  constructor(reason: SessionStringErrorReason, message: string) {
    super('SESSION_STRING_INVALID', message)
    this.reason = reason
  }
}

/** A session file is not a Pyrogram session we can read (not SQLite, unknown schema version, bad values). */
export class SessionFormatError extends SessionStorageError {
  override readonly name = 'SessionFormatError'
  readonly path: string

  constructor(path: string, message: string, options?: ErrorOptions) {
    super('SESSION_FORMAT', `${path}: ${message}`, options)
    this.path = path
  }
}

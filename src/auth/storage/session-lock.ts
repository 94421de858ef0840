// Single owner per session file: `<file>.lock`, created with O_EXCL, holding {pid, host, since, token}.
// A lock whose pid is dead on this host is stale and taken over; anything else is SessionLockedError. Two clients
// on one auth key get AUTH_KEY_DUPLICATED, so when in doubt (another host, an unreadable fresh lock) we refuse.
import { randomBytes } from 'node:crypto'
import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises'
import { readFileSync, unlinkSync } from 'node:fs'
import { hostname } from 'node:os'
import { SessionLockedError, SessionStorageError, type SessionLockOwner } from './errors.ts'

/** A lock file that cannot be parsed is being written (or was torn by a crash): give its writer this long. */
const UNREADABLE_GRACE_MS = 10_000
const ACQUIRE_ATTEMPTS = 3

interface LockFile extends SessionLockOwner {
  readonly token: string
}

function parseLock(text: string): LockFile | null {
  try {
    const v: unknown = JSON.parse(text)
    if (typeof v !== 'object' || v === null) return null
    const { pid, host, since, token } = v as Record<string, unknown>
    if (!Number.isInteger(pid) || typeof host !== 'string' || typeof since !== 'number' || typeof token !== 'string') {
      return null
    }
    return { pid: pid as number, host, since, token }
  } catch {
    return null
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' // exists, owned by someone else
  }
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    if (errno(err) === 'ENOENT') return null
    throw err
  }
}

// Locks this process holds, removed on exit so a clean shutdown without close() leaves no lock behind.
const held = new Map<string, string>()
let exitHookInstalled = false

function releaseAllSync(): void {
  for (const [path, token] of held) {
    try {
      if (parseLock(readFileSync(path, 'utf8'))?.token === token) unlinkSync(path)
    } catch {
      // best effort at exit; a dead pid's lock is taken over later anyway
    }
  }
  held.clear()
}

export class SessionLock {
  private released = false

  private constructor(
    readonly path: string,
    private readonly token: string,
  ) {}

  static async acquire(path: string): Promise<SessionLock> {
    let owner: SessionLockOwner | null = null
    for (let attempt = 0; attempt < ACQUIRE_ATTEMPTS; attempt++) {
      const mine: LockFile = {
        pid: process.pid,
        host: hostname(),
        since: Date.now(),
        token: randomBytes(12).toString('hex'),
      }
      try {
        const handle = await open(path, 'wx', 0o600)
        try {
          // No fsync: after a crash an empty or lost lock file is simply stale, which is the right outcome.
          await handle.writeFile(JSON.stringify(mine))
        } catch (err) {
          await handle.close()
          await unlink(path).catch(() => undefined)
          throw err
        }
        await handle.close()
        held.set(path, mine.token)
        if (!exitHookInstalled) {
          exitHookInstalled = true
          process.once('exit', releaseAllSync)
        }
        return new SessionLock(path, mine.token)
      } catch (err) {
        if (errno(err) !== 'EEXIST') {
          throw new SessionStorageError('IO', `cannot create session lock ${path}`, { cause: err })
        }
      }
      const text = await readText(path)
      if (text === null) continue // released between our open and read: try again
      const lock = parseLock(text)
      owner = lock
      if (!(await SessionLock.isStale(path, lock))) break
      if (!(await SessionLock.takeOver(path, text))) break
    }
    throw new SessionLockedError(path, owner)
  }

  private static async isStale(path: string, lock: LockFile | null): Promise<boolean> {
    if (lock) return lock.host === hostname() && lock.pid !== process.pid && !pidAlive(lock.pid)
    try {
      return Date.now() - (await stat(path)).mtimeMs > UNREADABLE_GRACE_MS
    } catch {
      return false
    }
  }

  /**
   * Removes a stale lock without a race: move it aside, then check it is still the one we judged stale. If another
   * process replaced it in between (a live lock), put it back and report failure.
   */
  private static async takeOver(path: string, staleText: string): Promise<boolean> {
    const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`
    try {
      await rename(path, aside)
    } catch (err) {
      return errno(err) === 'ENOENT' // gone already: the next attempt may create it
    }
    const moved = await readText(aside)
    if (moved === staleText) {
      await unlink(aside).catch(() => undefined)
      return true
    }
    await link(aside, path).catch(() => undefined) // fails only if yet another owner exists: theirs stands
    await unlink(aside).catch(() => undefined)
    return false
  }

  /** Removes the lock file if it is still ours. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return
    this.released = true
    held.delete(this.path)
    const text = await readText(this.path)
    if (text !== null && parseLock(text)?.token === this.token) {
      await unlink(this.path).catch((err: unknown) => {
        if (errno(err) !== 'ENOENT') throw err
      })
    }
  }
}

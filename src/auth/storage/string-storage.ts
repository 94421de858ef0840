// A memory storage that starts from a session string (Pyrogram, Telethon or GramJS) and can export one.
// Nothing is persisted: whoever holds the string persists it (an env var, a secret store).
import { SessionStorageError } from './errors.ts'
import { MemorySessionStorage } from './memory-storage.ts'
import { recordToState, stateToRecord } from './session-storage.ts'
import { exportSessionString, importSessionString, type SessionStringFormat } from './session-string.ts'

export class StringSessionStorage extends MemorySessionStorage {
  private pending: string | null
  private readonly format: SessionStringFormat | 'auto'

  /** An empty `value` starts a new session (as `new StringSession('')` does in Telethon/GramJS). */
  constructor(value = '', format: SessionStringFormat | 'auto' = 'auto') {
    super()
    this.pending = value.trim() === '' ? null : value
    this.format = format
  }

  /** Decodes the string here rather than in the constructor so a bad one fails like any other open(). */
  override async open(): Promise<void> {
    if (this.pending !== null) {
      this.state = recordToState(importSessionString(this.pending, this.format))
      this.pending = null // the string is a secret: keep it no longer than needed
    }
    await super.open()
  }

  /** The current session as a string of the given format (Pyrogram's by default). */
  async exportString(format: SessionStringFormat = 'pyrogram'): Promise<string> {
    this.assertOpen()
    const record = stateToRecord(this.state)
    if (!record) throw new SessionStorageError('NO_SESSION', 'there is no auth key to export')
    return exportSessionString(record, format)
  }
}

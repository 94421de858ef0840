// What a session-string format's codec is (session-string.ts picks one; each format has its own file).
import type { SessionRecord } from './session-storage.ts'

export type SessionStringFormat = 'pyrogram' | 'telethon' | 'gramjs'

export interface StringCodec {
  readonly format: SessionStringFormat
  /** Throws SessionStringError when the record cannot be expressed in this format. */
  export(record: SessionRecord): string
  /** Throws SessionStringError (never echoing the input) when the string is not of this format. */
  import(value: string): SessionRecord
}

// Errors of the tdata reader/writer. Messages name files and fields, never key material or the passcode.
import { SessionStorageError } from '../errors.ts'

export type TdataErrorReason =
  | 'missing' // a file the folder needs is not there
  | 'format' // a file is not what Telegram Desktop writes (magic, checksum, lengths)
  | 'passcode' // the local key does not decrypt: a passcode is set and this one is wrong (or none was given)
  | 'unsupported' // a layout we do not read (a very old tdata keeping its key in the map file)

export class TdataError extends SessionStorageError {
  override readonly name = 'TdataError'
  constructor(
    readonly reason: TdataErrorReason,
    message: string,
  ) {
    super('SESSION_FORMAT', message)
  }
}

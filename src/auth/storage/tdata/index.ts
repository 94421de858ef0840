// Telegram Desktop `tdata` folders: our own reader and writer of the session part.
export {
  readTdata,
  writeTdata,
  accountFileName,
  type TdataAccount,
  type TdataAccountInput,
  type TdataOptions,
} from './tdata-folder.ts'
export { TdataError, type TdataErrorReason } from './tdata-error.ts'

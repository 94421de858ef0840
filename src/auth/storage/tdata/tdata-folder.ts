// A Telegram Desktop `tdata` folder, as far as a session needs it (tdesktop Storage::Domain and Storage::Account):
//   key_datas                  salt, the local key encrypted under the passcode key, and the encrypted account
//                              list (int32 BE count, count × int32 BE index, int32 BE active index)
//   <account file>s            one per account: the encrypted settings block dbiMtpAuthorization (75), whose
//                              content is user id, main DC, the (DC, 256-byte auth key) list, keys to destroy
//   <account file>/maps        the account's file map (we write an empty one, as a fresh login has)
// The account file is named by the first 8 bytes of MD5("data"), MD5("data#2")… (the -key option, default "data"),
// each byte written low nibble first in upper-case hex: account 0 is D877F783D5D3EF8C.
import { createHash, randomBytes } from 'node:crypto'
import { chmod, mkdir, open, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { AUTH_KEY_LENGTH } from '../session-storage.ts'
import { QtReader, QtWriter } from './qt-stream.ts'
import { LOCAL_KEY_BYTES, decryptLocal, encryptLocal, passcodeKey } from './tdata-crypto.ts'
import { TdataError } from './tdata-error.ts'
import { encodeTdf, readTdf } from './tdf-file.ts'

/** tdesktop's settings block id of the MTP authorization (dbiMtpAuthorization). */
const DBI_MTP_AUTHORIZATION = 75
/** A legacy user id and main DC of -1 mean a 64-bit user id and the DC follow. */
const WIDE_IDS_MARK = -1
/** Telegram Desktop keeps at most this many accounts per folder (kMaxAccounts, with Premium). */
const MAX_ACCOUNTS = 6
const SALT_BYTES = 32
const DEFAULT_DATA_KEY = 'data'

export interface TdataAccount {
  /** The index in key_datas (0 = the first account's `data` file). */
  readonly index: number
  readonly userId: bigint
  readonly mainDcId: number
  /** Auth keys by DC id; the main DC's is the session's key. */
  readonly authKeys: ReadonlyMap<number, Uint8Array>
}

export interface TdataOptions {
  /** The local passcode, if one is set ('' = none). */
  readonly passcode?: string
  /** Telegram Desktop's -key option (default "data"). */
  readonly dataKey?: string
}

export function accountFileName(index: number, dataKey = DEFAULT_DATA_KEY): string {
  const name = index === 0 ? dataKey : `${dataKey}#${index + 1}`
  const md5 = createHash('md5').update(name, 'utf8').digest()
  let out = ''
  for (const b of md5.subarray(0, 8)) out += (b & 0x0f).toString(16) + (b >> 4).toString(16)
  return out.toUpperCase()
}

interface KeyData {
  readonly localKey: Buffer
  readonly order: readonly number[]
  readonly active: number
}

async function readKeyData(dir: string, opts: TdataOptions): Promise<KeyData> {
  const { payload } = await readTdf(dir, `key_${opts.dataKey ?? DEFAULT_DATA_KEY}`)
  const r = new QtReader(payload, 'key_datas')
  const salt = r.byteArray()
  const keyEncrypted = r.byteArray()
  const infoEncrypted = r.byteArray()
  if (salt.length !== SALT_BYTES) throw new TdataError('format', 'key_datas: salt is not 32 bytes')
  const localKey = decryptLocal(keyEncrypted, passcodeKey(salt, opts.passcode ?? ''), 'key_datas (local key)')
  if (localKey.length !== LOCAL_KEY_BYTES) throw new TdataError('format', 'key_datas: local key is not 256 bytes')
  const info = new QtReader(decryptLocal(infoEncrypted, localKey, 'key_datas (accounts)'), 'key_datas (accounts)')
  const count = info.int32()
  if (count < 0 || count > MAX_ACCOUNTS * 2) throw new TdataError('format', `key_datas: ${count} accounts`)
  const order: number[] = []
  for (let i = 0; i < count; i++) order.push(info.int32())
  return { localKey, order, active: info.int32() }
}

function readAuthKeys(r: QtReader): Map<number, Uint8Array> {
  const keys = new Map<number, Uint8Array>()
  const count = r.uint32()
  if (count > 64) throw new TdataError('format', `MTP authorization: ${count} keys`)
  for (let i = 0; i < count; i++) {
    const dcId = r.int32()
    keys.set(dcId, new Uint8Array(r.raw(AUTH_KEY_LENGTH)))
  }
  return keys
}

async function readAccount(dir: string, index: number, keyData: KeyData, opts: TdataOptions): Promise<TdataAccount> {
  const file = accountFileName(index, opts.dataKey)
  const { payload } = await readTdf(dir, file)
  const encrypted = new QtReader(payload, file).byteArray()
  const r = new QtReader(decryptLocal(encrypted, keyData.localKey, file), file)
  const block = r.int32()
  if (block !== DBI_MTP_AUTHORIZATION)
    throw new TdataError('unsupported', `${file}: first block is ${block}, not the MTP authorization (75)`)
  const auth = new QtReader(r.byteArray(), `${file} (MTP authorization)`)
  const legacyUser = auth.int32()
  const legacyDc = auth.int32()
  let userId: bigint
  let mainDcId: number
  if (legacyUser === WIDE_IDS_MARK && legacyDc === WIDE_IDS_MARK) {
    userId = auth.uint64()
    mainDcId = auth.int32()
  } else {
    userId = BigInt(legacyUser >>> 0)
    mainDcId = legacyDc
  }
  const authKeys = readAuthKeys(auth)
  readAuthKeys(auth) // keys to destroy: not a session's
  if (!authKeys.has(mainDcId)) throw new TdataError('format', `${file}: no auth key for its main DC ${mainDcId}`)
  return { index, userId, mainDcId, authKeys }
}

/** Every account of a tdata folder (in key_datas order). TdataError('passcode') when the passcode is wrong. */
export async function readTdata(dir: string, opts: TdataOptions = {}): Promise<TdataAccount[]> {
  const keyData = await readKeyData(dir, opts)
  const accounts: TdataAccount[] = []
  for (const index of keyData.order) accounts.push(await readAccount(dir, index, keyData, opts))
  return accounts
}

async function writePrivate(path: string, data: Buffer): Promise<void> {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  const handle = await open(temp, 'wx', 0o600)
  try {
    await handle.writeFile(data)
    await handle.chmod(0o600)
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await rename(temp, path)
  } catch (err) {
    await rm(temp, { force: true })
    throw err
  }
}

export interface TdataAccountInput {
  readonly userId: bigint
  readonly mainDcId: number
  readonly authKeys: ReadonlyMap<number, Uint8Array>
}

/** Writes a new tdata folder (0700, files 0600) holding these accounts, under `passcode` if given. */
export async function writeTdata(
  dir: string,
  accounts: readonly TdataAccountInput[],
  opts: TdataOptions = {},
): Promise<void> {
  if (accounts.length === 0 || accounts.length > MAX_ACCOUNTS)
    throw new TdataError('unsupported', `a tdata folder holds 1..${MAX_ACCOUNTS} accounts`)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await chmod(dir, 0o700)
  const localKey = randomBytes(LOCAL_KEY_BYTES)
  const dataKey = opts.dataKey ?? DEFAULT_DATA_KEY
  for (const [index, account] of accounts.entries()) {
    const auth = new QtWriter().int32(WIDE_IDS_MARK).int32(WIDE_IDS_MARK).uint64(account.userId).int32(account.mainDcId)
    auth.uint32(account.authKeys.size)
    for (const [dcId, key] of account.authKeys) {
      if (key.length !== AUTH_KEY_LENGTH) throw new TdataError('format', 'an auth key is not 256 bytes')
      auth.int32(dcId).raw(key)
    }
    auth.uint32(0) // no keys to destroy
    const settings = new QtWriter().int32(DBI_MTP_AUTHORIZATION).byteArray(auth.result()).result()
    const file = accountFileName(index, dataKey)
    await writePrivate(
      join(dir, `${file}s`),
      encodeTdf(new QtWriter().byteArray(encryptLocal(settings, localKey)).result()),
    )
    const mapDir = join(dir, file)
    await mkdir(mapDir, { recursive: true, mode: 0o700 })
    const map = new QtWriter()
      .byteArray(Buffer.alloc(0))
      .byteArray(Buffer.alloc(0))
      .byteArray(encryptLocal(Buffer.alloc(0), localKey))
    await writePrivate(join(mapDir, 'maps'), encodeTdf(map.result()))
  }
  const info = new QtWriter().int32(accounts.length)
  accounts.forEach((_a, i) => info.int32(i))
  info.int32(0) // the first account is the active one
  const salt = randomBytes(SALT_BYTES)
  const keyData = new QtWriter()
    .byteArray(salt)
    .byteArray(encryptLocal(localKey, passcodeKey(salt, opts.passcode ?? '')))
    .byteArray(encryptLocal(info.result(), localKey))
  await writePrivate(join(dir, `key_${dataKey}s`), encodeTdf(keyData.result()))
}

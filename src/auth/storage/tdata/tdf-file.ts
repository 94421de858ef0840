// Telegram Desktop's file container (TDF): `TDF$` + int32 LE app version + payload + MD5(payload, int32 LE payload
// length, int32 LE version, `TDF$`). A file named X on disk is `Xs` (the "safe" name Telegram Desktop writes),
// or `X0`/`X1`, two copies of which the newer one wins.
import { createHash } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { TdataError } from './tdata-error.ts'

const MAGIC = Buffer.from('TDF$', 'latin1')
const HEADER_BYTES = 8 // magic + version
const MD5_BYTES = 16
/** The Telegram Desktop version our files say they were written by (5.8.3, as @mtcute/convert writes). */
export const TDF_VERSION = 5008003

function int32le(value: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeInt32LE(value)
  return b
}

function checksum(payload: Uint8Array, version: Buffer): Buffer {
  return createHash('md5').update(payload).update(int32le(payload.length)).update(version).update(MAGIC).digest()
}

export function encodeTdf(payload: Uint8Array, version = TDF_VERSION): Buffer {
  const v = int32le(version)
  return Buffer.concat([MAGIC, v, payload, checksum(payload, v)])
}

export interface TdfContent {
  readonly version: number
  readonly payload: Buffer
}

/** The payload of a TDF image; TdataError naming `what` if it is not one or its checksum fails. */
export function decodeTdf(image: Buffer, what: string): TdfContent {
  if (image.length < HEADER_BYTES + MD5_BYTES || !image.subarray(0, 4).equals(MAGIC))
    throw new TdataError('format', `${what}: not a Telegram Desktop data file (no TDF$ magic)`)
  const versionBytes = image.subarray(4, 8)
  const payload = image.subarray(HEADER_BYTES, image.length - MD5_BYTES)
  if (!checksum(payload, versionBytes).equals(image.subarray(image.length - MD5_BYTES)))
    throw new TdataError('format', `${what}: checksum mismatch (truncated or altered)`)
  return { version: versionBytes.readInt32LE(0), payload: Buffer.from(payload) }
}

async function mtimeOf(path: string): Promise<number | null> {
  try {
    return (await stat(path)).mtimeMs
  } catch {
    return null
  }
}

/** Reads data file `name` of a tdata folder: `names`, else the newer of `name0`/`name1` that decodes. */
export async function readTdf(dir: string, name: string): Promise<TdfContent> {
  const safe = join(dir, `${name}s`)
  let candidates: string[]
  if ((await mtimeOf(safe)) !== null) candidates = [safe]
  else {
    const pair = await Promise.all(
      [`${name}0`, `${name}1`].map(async (f) => ({ path: join(dir, f), mtime: await mtimeOf(join(dir, f)) })),
    )
    candidates = pair
      .filter((c) => c.mtime !== null)
      .sort((a, b) => b.mtime! - a.mtime!)
      .map((c) => c.path)
  }
  if (candidates.length === 0) throw new TdataError('missing', `${name}: no such file in the tdata folder`)
  let last: unknown
  for (const path of candidates) {
    try {
      return decodeTdf(await readFile(path), name)
    } catch (err) {
      last = err
    }
  }
  throw last
}

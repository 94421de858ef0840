// Files that hold secrets or phones: 0600 whether or not the file existed before (writeFile's mode applies only
// to a file it creates), and never half-written (a temp file beside it, renamed over it).
import { chmod, rename, rm, writeFile } from 'node:fs/promises'

export async function writePrivateFile(path: string, text: string | Uint8Array): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`
  try {
    await writeFile(temp, text, { mode: 0o600 })
    await chmod(temp, 0o600) // a temp file left over by an earlier crash keeps its old mode
    await rename(temp, path)
  } catch (err) {
    await rm(temp, { force: true }).catch(() => undefined)
    throw err
  }
}

// Where the operator's master key comes from: the environment (GRAMFARM_MASTER_KEY), a file (0600, one key), or a
// command that prints it (a secret manager's CLI, e.g. `vault kv get -field=key secret/gramfarm`). Old keys, still
// readable while a rotation runs, come the same ways. The key's text is never logged or put in an error.
import { execFile, execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { Keyring, MasterKeyError, parseMasterKey, type MasterKey } from './sealed-value.ts'

export interface MasterKeySources {
  /** The key itself (GRAMFARM_MASTER_KEY). */
  readonly key?: string
  /** A file holding the key (GRAMFARM_MASTER_KEY_FILE / masterKeyFile). */
  readonly keyFile?: string
  /** A command whose standard output is the key (GRAMFARM_MASTER_KEY_COMMAND / masterKeyCommand), run by /bin/sh. */
  readonly keyCommand?: string
  /** Old keys still readable, each given directly (GRAMFARM_OLD_MASTER_KEYS, comma-separated). */
  readonly oldKeys?: readonly string[]
  /** Files holding old keys. */
  readonly oldKeyFiles?: readonly string[]
  /** Refuse to run without a key, and refuse values in clear. */
  readonly requireEncryption?: boolean
}

/** How long a key command may take (a secret manager over the network). */
const KEY_COMMAND_TIMEOUT_MS = 15_000

function runKeyCommand(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', ['-c', command], { timeout: KEY_COMMAND_TIMEOUT_MS, maxBuffer: 64 * 1024 }, (err, stdout) => {
      // the command's stderr may echo the key: not put in the error
      if (err) reject(new MasterKeyError(`the master key command failed (${err.code ?? err.signal ?? 'error'})`))
      else resolve(stdout)
    })
  })
}

async function readKeyFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    throw new MasterKeyError(
      `cannot read the master key file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    )
  }
}

/** The environment's key sources (the config file and flags may add to or override them). */
export function masterKeySourcesFromEnv(env: NodeJS.ProcessEnv = process.env): MasterKeySources {
  const list = (v: string | undefined) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
  return {
    key: env.GRAMFARM_MASTER_KEY || undefined,
    keyFile: env.GRAMFARM_MASTER_KEY_FILE || undefined,
    keyCommand: env.GRAMFARM_MASTER_KEY_COMMAND || undefined,
    oldKeys: list(env.GRAMFARM_OLD_MASTER_KEYS),
    requireEncryption:
      env.GRAMFARM_REQUIRE_ENCRYPTION === '1' || env.GRAMFARM_REQUIRE_ENCRYPTION === 'true' || undefined,
  }
}

/** The keys' texts, resolved from their sources once (by the CLI), so worker threads can rebuild the keyring from plain data. */
export interface KeyringSpec {
  readonly current: string | null
  readonly old: readonly string[]
  readonly requireEncryption: boolean
}

/** The current key's text (null if none is configured). More than one source for it is an error: which one wins would be a guess. */
async function currentKeyText(sources: MasterKeySources): Promise<{ text: string; source: string } | null> {
  const given = [sources.key !== undefined, sources.keyFile !== undefined, sources.keyCommand !== undefined].filter(
    Boolean,
  ).length
  if (given > 1)
    throw new MasterKeyError('give the master key one way: GRAMFARM_MASTER_KEY, a key file or a key command')
  if (sources.key !== undefined) return { text: sources.key, source: 'GRAMFARM_MASTER_KEY' }
  if (sources.keyFile !== undefined)
    return { text: await readKeyFile(sources.keyFile), source: `master key file ${sources.keyFile}` }
  if (sources.keyCommand !== undefined)
    return { text: await runKeyCommand(sources.keyCommand), source: 'the master key command' }
  return null
}

/** The current key (null if none is configured). */
export async function loadMasterKey(sources: MasterKeySources): Promise<MasterKey | null> {
  const got = await currentKeyText(sources)
  return got ? parseMasterKey(got.text, got.source) : null
}

/** Reads every key of these sources and checks each parses (errors name the source, never the key). */
export async function resolveKeyringSpec(sources: MasterKeySources): Promise<KeyringSpec> {
  const got = await currentKeyText(sources)
  const old = [...(sources.oldKeys ?? [])]
  for (const f of sources.oldKeyFiles ?? []) old.push(await readKeyFile(f))
  const spec: KeyringSpec = {
    current: got ? got.text.trim() : null,
    old: old.map((k) => k.trim()),
    requireEncryption: sources.requireEncryption ?? false,
  }
  if (got) parseMasterKey(got.text, got.source)
  old.forEach((k, i) => parseMasterKey(k, `old master key #${i + 1}`))
  keyringFromSpec(spec) // requireEncryption without a key fails here, at start
  return spec
}

/** resolveKeyringSpec for a synchronous caller (the CLI's config loading): the same sources, read at once. */
export function resolveKeyringSpecSync(sources: MasterKeySources): KeyringSpec {
  const given = [sources.key !== undefined, sources.keyFile !== undefined, sources.keyCommand !== undefined].filter(
    Boolean,
  ).length
  if (given > 1)
    throw new MasterKeyError('give the master key one way: GRAMFARM_MASTER_KEY, a key file or a key command')
  const readSync = (path: string): string => {
    try {
      return readFileSync(path, 'utf8')
    } catch (err) {
      throw new MasterKeyError(
        `cannot read the master key file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      )
    }
  }
  let current: { text: string; source: string } | null = null
  if (sources.key !== undefined) current = { text: sources.key, source: 'GRAMFARM_MASTER_KEY' }
  else if (sources.keyFile !== undefined)
    current = { text: readSync(sources.keyFile), source: `master key file ${sources.keyFile}` }
  else if (sources.keyCommand !== undefined) {
    try {
      current = {
        text: execFileSync('/bin/sh', ['-c', sources.keyCommand], {
          timeout: KEY_COMMAND_TIMEOUT_MS,
          maxBuffer: 64 * 1024,
          stdio: ['ignore', 'pipe', 'ignore'],
        }).toString('utf8'),
        source: 'the master key command',
      }
    } catch (err) {
      throw new MasterKeyError(`the master key command failed (${(err as { status?: number }).status ?? 'error'})`)
    }
  }
  const old = [...(sources.oldKeys ?? []), ...(sources.oldKeyFiles ?? []).map(readSync)]
  if (current) parseMasterKey(current.text, current.source)
  old.forEach((k, i) => parseMasterKey(k, `old master key #${i + 1}`))
  const spec: KeyringSpec = {
    current: current ? current.text.trim() : null,
    old: old.map((k) => k.trim()),
    requireEncryption: sources.requireEncryption ?? false,
  }
  keyringFromSpec(spec)
  return spec
}

/** The keyring of a resolved spec (in a worker thread; absent spec = clear). */
export function keyringFromSpec(spec: KeyringSpec | undefined): Keyring {
  if (!spec) return Keyring.clear()
  return new Keyring({
    current: spec.current === null ? null : parseMasterKey(spec.current, 'GRAMFARM_MASTER_KEY'),
    old: spec.old.map((k, i) => parseMasterKey(k, `old master key #${i + 1}`)),
    requireEncryption: spec.requireEncryption,
  })
}

/** The keyring for these sources: the current key seals, old keys stay readable. */
export async function loadKeyring(sources: MasterKeySources): Promise<Keyring> {
  return keyringFromSpec(await resolveKeyringSpec(sources))
}

let warnedClear = false

/** Says once per process that secrets are stored in clear (no master key). Returns whether it warned now. */
export function warnOnceIfClear(keyring: Pick<Keyring, 'encrypting'>, warn: (message: string) => void): boolean {
  if (keyring.encrypting || warnedClear) return false
  warnedClear = true
  warn(
    'no master key (GRAMFARM_MASTER_KEY, GRAMFARM_MASTER_KEY_FILE or GRAMFARM_MASTER_KEY_COMMAND): sessions, passwords, tokens and codes are stored in Redis in clear',
  )
  return true
}

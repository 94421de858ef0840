// Where a run writes its sessions and report, checked before anything is enqueued: a path that cannot be written
// would otherwise fail only after every login ran. Nothing is created here (the writers create what they need).
import { constants } from 'node:fs'
import { access, stat } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { CliError, ExitCode } from './exit-codes.ts'

export interface OutputPaths {
  /** Directories the run creates if needed and writes files into. */
  readonly dirs?: readonly { option: string; path: string }[]
  /** Files the run writes (through a temp file beside them, then a rename). */
  readonly files?: readonly { option: string; path: string }[]
}

/** `<base>.json` and `<base>.csv` of a `--report <base>` (a given .json/.csv extension is dropped first). */
export function reportPaths(base: string): { json: string; csv: string } {
  const stem = base.replace(/\.(json|csv)$/i, '')
  return { json: `${stem}.json`, csv: `${stem}.csv` }
}

/** The path's own state, or null when it does not exist (ENOTDIR: an ancestor is a file, found walking up). */
async function statOrNull(path: string): Promise<Awaited<ReturnType<typeof stat>> | null> {
  try {
    return await stat(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return null
    throw err
  }
}

/** Why files cannot be created in `dir` (made with mkdir -p if missing), or null when they can. */
async function cannotCreateIn(dir: string): Promise<string | null> {
  let at = resolve(dir)
  for (;;) {
    const s = await statOrNull(at)
    if (s !== null) {
      if (!s.isDirectory()) return `${at} is not a directory`
      try {
        await access(at, constants.W_OK | constants.X_OK)
        return null
      } catch {
        return `${at} is not writable`
      }
    }
    const up = dirname(at)
    if (up === at) return `${at} does not exist`
    at = up
  }
}

async function problemOf(kind: 'dir' | 'file', path: string): Promise<string | null> {
  try {
    const s = await statOrNull(path)
    if (kind === 'dir')
      return s !== null && !s.isDirectory() ? `${path} exists and is not a directory` : await cannotCreateIn(path)
    if (s?.isDirectory()) return `${path} is a directory`
    return await cannotCreateIn(dirname(path))
  } catch (err) {
    return `${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`
  }
}

/** CliError (exit 2, nothing enqueued yet) listing every output path the run could not write. */
export async function checkOutputPaths(paths: OutputPaths): Promise<void> {
  const checks = [
    ...(paths.dirs ?? []).map((d) => ({ ...d, kind: 'dir' as const })),
    ...(paths.files ?? []).map((f) => ({ ...f, kind: 'file' as const })),
  ]
  const listed = (
    await Promise.all(
      checks.map(async (c) => {
        const problem = await problemOf(c.kind, c.path)
        return problem === null ? null : `${c.option}: ${problem}`
      }),
    )
  ).filter((p) => p !== null)
  // The report's .json and .csv share a directory: one line for its problem.
  const problems = [...new Set(listed)]
  if (problems.length > 0)
    throw new CliError(
      `cannot write the run's output:\n  ${problems.join('\n  ')}\nnothing was enqueued`,
      ExitCode.usage,
    )
}

/** What a filesystem error says, without a stack: `EACCES: permission denied, open 'out/x.json'`. */
export function describeWriteError(err: unknown): string | null {
  const e = err as NodeJS.ErrnoException
  if (typeof e?.code !== 'string' || !/^E[A-Z]+$/.test(e.code)) return null
  return e.message
}

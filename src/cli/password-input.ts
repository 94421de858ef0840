// A secret from the operator, never from argv (it would land in shell history and `ps`): typed at a terminal
// without echo, or piped on stdin (`gramfarm password 9996… < file`, `… | gramfarm code 9996… -`: the first line).
import { CliError, ExitCode } from './exit-codes.ts'

/**
 * The longest secret read (bytes of its line): codes, passwords and tokens are short, and whatever is piped in
 * (a file by mistake, `yes`, 600 MB) must not be read whole into memory.
 */
export const MAX_SECRET_BYTES = 4096

/** The line on stdin (or typed) is longer than MAX_SECRET_BYTES: exit 2, nothing of it echoed. */
export class SecretTooLongError extends CliError {
  constructor(what: string) {
    super(
      `the ${what} is longer than ${MAX_SECRET_BYTES} bytes: give it as one short line (nothing was delivered)`,
      ExitCode.usage,
    )
  }
}

/**
 * The first line of a non-TTY stdin (without the line break); stops reading there, so an open pipe is fine,
 * and after MAX_SECRET_BYTES without a line break (SecretTooLongError).
 */
async function readPiped(input: NodeJS.ReadableStream, what: string): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of input) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)
    const nl = buf.indexOf(0x0a)
    const line = nl >= 0 ? buf.subarray(0, nl) : buf
    size += line.length
    // (leaving the loop ends the stream: the rest is never read)
    if (size > MAX_SECRET_BYTES + 1) throw new SecretTooLongError(what) // +1: a CR before the LF
    chunks.push(line)
    if (nl >= 0) break
  }
  const value = Buffer.concat(chunks).toString('utf8').replace(/\r$/, '')
  if (Buffer.byteLength(value) > MAX_SECRET_BYTES) throw new SecretTooLongError(what)
  return value
}

/** Reads one line from a TTY in raw mode, echoing nothing. Ctrl-C rejects (exit 130), Ctrl-D ends the line. */
function readHidden(
  input: NodeJS.ReadStream,
  what: string,
  prompt: string,
  output: NodeJS.WritableStream,
): Promise<string> {
  return new Promise((resolve, reject) => {
    output.write(prompt)
    let value = ''
    const wasRaw = input.isRaw
    input.setRawMode(true)
    input.resume()
    input.setEncoding('utf8')
    const done = (err?: Error): void => {
      input.removeListener('data', onData)
      input.setRawMode(wasRaw)
      input.pause()
      output.write('\n')
      if (err) reject(err)
      else resolve(value)
    }
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done()
        if (ch === '\u0003') return done(new CliError('interrupted', ExitCode.interrupted))
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1)
        else if (ch >= ' ') value += ch
        if (value.length > MAX_SECRET_BYTES) return done(new SecretTooLongError(what))
      }
    }
    input.on('data', onData)
  })
}

/** A secret: typed without echo on a terminal, else the first line of stdin. Empty → CliError (exit 2). */
export async function readSecret(
  what: string,
  prompt: string,
  input: NodeJS.ReadStream = process.stdin,
  output: NodeJS.WritableStream = process.stderr,
): Promise<string> {
  const value = input.isTTY ? await readHidden(input, what, prompt, output) : await readPiped(input, what)
  if (value.length === 0)
    throw new CliError(`no ${what} given (type it at the prompt, or pipe it on stdin)`, ExitCode.usage)
  return value
}

/** The 2FA password, as readSecret reads it. */
export async function readPassword(
  prompt: string,
  input: NodeJS.ReadStream = process.stdin,
  output: NodeJS.WritableStream = process.stderr,
): Promise<string> {
  return readSecret('password', prompt, input, output)
}

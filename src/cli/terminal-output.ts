// Everything `gramfarm` writes to stdout and stderr goes through escapeControlCharacters: error messages (with
// field names from an accounts file, arguments), tables (account names, QR labels, notes), commander's own
// errors and the logs. Only the CLI's own terminal sequences — the progress bar's line redraw, QR codes drawn
// with colours — are written raw, through writeRaw.
import { escapeControlCharacters } from '../foundation/terminal-text.ts'

type Write = NodeJS.WriteStream['write']

/** The unguarded write of each guarded stream. */
const rawWrites = new WeakMap<NodeJS.WritableStream, Write>()

/** Makes every later write to `streams` (default stdout and stderr) escape control characters. Idempotent. */
export function guardTerminalOutput(streams: readonly NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    if (rawWrites.has(stream)) continue
    const raw = stream.write.bind(stream) as Write
    rawWrites.set(stream, raw)
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (typeof chunk === 'string')
        return (raw as (c: string, ...r: unknown[]) => boolean)(escapeControlCharacters(chunk), ...rest)
      if (chunk instanceof Uint8Array) {
        const text = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('utf8')
        const safe = escapeControlCharacters(text)
        if (safe !== text)
          return (raw as (c: string, ...r: unknown[]) => boolean)(safe, ...rest.filter((r) => typeof r === 'function'))
      }
      return (raw as (c: unknown, ...r: unknown[]) => boolean)(chunk, ...rest)
    }) as Write
  }
}

/** Writes the CLI's own terminal sequences as they are (the stream's own write when it is not guarded). */
export function writeRaw(stream: NodeJS.WritableStream, text: string): void {
  const raw = rawWrites.get(stream)
  if (raw) raw(text)
  else stream.write(text)
}

/** A destination for pino (and pino-pretty) whose lines are escaped before they reach `dest`. */
export function escapingDestination<T extends { write(text: string): unknown }>(dest: T): T {
  return new Proxy(dest, {
    get(target, key, receiver) {
      if (key === 'write') {
        return (text: string | Uint8Array, ...rest: unknown[]) =>
          (target.write as (t: string, ...r: unknown[]) => unknown)(
            escapeControlCharacters(typeof text === 'string' ? text : Buffer.from(text).toString('utf8')),
            ...rest,
          )
      }
      const v = Reflect.get(target, key, receiver) as unknown
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
    },
  })
}

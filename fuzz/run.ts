// npm run fuzz -- <mode> [--frames N] [--seconds S] [--seed X] [--hang-ms MS] [--json FILE] [--quiet]
// Loads fuzz/modes/<mode>.ts (dc: hostile frames against the test DC; client: hostile answers against our client)
// and runs it within the frame and time budget, then prints the report: frames, crashes, hangs and RSS over time.
// Exit code 0 when nothing crashed or hung and memory stayed bounded, 1 otherwise, 2 for bad arguments.
import { readdirSync, writeFileSync } from 'node:fs'
import { FuzzReport, type FuzzOptions } from './fuzz-report.ts'

/** What a fuzz mode module exports. */
export interface FuzzMode {
  run(opts: FuzzOptions, report: FuzzReport): Promise<void>
}

const modesDir = new URL('./modes/', import.meta.url)
const modes = readdirSync(modesDir)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3))
  .sort()

function usage(problem: string): never {
  console.error(
    `${problem}\nusage: npm run fuzz -- <${modes.join('|')}> [--frames N] [--seconds S] [--seed X] [--hang-ms MS] [--json FILE] [--quiet]`,
  )
  process.exit(2)
}

function parse(argv: string[]): { mode: string; opts: FuzzOptions; json: string | undefined } {
  const [mode, ...rest] = argv
  if (mode === undefined) usage('no mode given')
  if (!/^[a-z][a-z0-9-]*$/.test(mode) || !modes.includes(mode)) usage(`unknown mode "${mode}"`)
  const opts: FuzzOptions = { frames: 100_000, seconds: 1800, seed: Date.now() >>> 0, hangMs: 5000, verbose: true }
  let json: string | undefined
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i]!
    if (flag === '--quiet') {
      opts.verbose = false
      continue
    }
    const value = rest[++i]
    if (value === undefined) usage(`${flag} needs a value`)
    const n = Number(value)
    switch (flag) {
      case '--frames':
        opts.frames = n
        break
      case '--seconds':
        opts.seconds = n
        break
      case '--seed':
        opts.seed = n
        break
      case '--hang-ms':
        opts.hangMs = n
        break
      case '--json':
        json = value
        continue
      default:
        usage(`unknown option ${flag}`)
    }
    if (!Number.isInteger(n) || n < 0) usage(`${flag} takes a whole number, got "${value}"`)
  }
  return { mode, opts, json }
}

const { mode, opts, json } = parse(process.argv.slice(2))
const loaded = (await import(new URL(`${mode}.ts`, modesDir).href)) as Partial<FuzzMode>
if (typeof loaded.run !== 'function') usage(`fuzz/modes/${mode}.ts does not export run(opts, report)`)
const report = new FuzzReport(mode, opts)
if (opts.verbose)
  console.error(
    `[fuzz] ${mode}: up to ${opts.frames} frames or ${opts.seconds} s, seed ${opts.seed}, hang after ${opts.hangMs} ms`,
  )
// a progress line every 10 s, so a long run shows it is moving
const progress = opts.verbose
  ? setInterval(() => {
      const last = report.rss[report.rss.length - 1]
      console.error(
        `[fuzz] ${Math.round(report.elapsedSeconds)} s: ${report.frames} frames, ${report.crashes} crashes, ${report.hangs} hangs${last ? `, target RSS ${Math.round(last.rss / 1048576)} MB` : ''}`,
      )
    }, 10_000)
  : undefined
try {
  await loaded.run(opts, report)
} catch (err) {
  // the mode itself failed (the fuzzer, not the target): a crash of the run
  report.crash(`fuzz mode ${mode} threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
}
clearInterval(progress)
const summary = report.summary()
console.log(JSON.stringify(summary, null, 2))
if (json !== undefined) writeFileSync(json, `${JSON.stringify(summary, null, 2)}\n`)
process.exit(report.ok ? 0 : 1)

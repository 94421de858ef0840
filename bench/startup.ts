// What a user waits for and pays for: the installed `gramfarm` command's start (`--help`, and `status --json`
// against Redis) as a ratio to `node -e 0` timed in the same run, the size of a fresh install (the package and its
// production dependencies), and how long a TypeScript consumer's type check of a small file takes.
// The package is built and packed, then installed from the tarball into fresh projects, as test/package.test.ts does.
import { spawnSync } from 'node:child_process'
import { readdirSync, lstatSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { deleteKeysUnder } from '../src/cli/redis-access.ts'
import { consumerLoginProgram, makeConsumer, packPackage, typeCheckConsumer } from '../test/support/packed-package.ts'
import { fmt } from './support/measure.ts'

const RUNS = Number(process.env['STARTUP_BENCH_RUNS'] ?? 15)
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379'

/** Bytes under `path` (files as stored, symlinks not followed). */
function sizeOf(path: string): number {
  const st = lstatSync(path)
  if (!st.isDirectory()) return st.size
  let total = 0
  for (const name of readdirSync(path)) total += sizeOf(join(path, name))
  return total
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

/** Wall milliseconds of one run of `node args` in `cwd`; throws if it fails. */
function timeNode(cwd: string, args: string[]): number {
  const t0 = performance.now()
  const r = spawnSync(process.execPath, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '', REDIS_URL },
  })
  const ms = performance.now() - t0
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return ms
}

const dir = await mkdtemp(join(tmpdir(), 'gramfarm-startup-'))
try {
  const packed = packPackage(dir)
  console.log(
    `tarball: ${packed.files.length} files, ${fmt(packed.size / 1024)} kB packed, ${fmt(packed.unpackedSize / 1024)} kB unpacked`,
  )

  const js = makeConsumer(join(dir, 'js'), 'js', packed.tarball)
  const modules = join(js, 'node_modules')
  const total = sizeOf(modules)
  const own = sizeOf(join(modules, 'gramfarm'))
  const biggest = readdirSync(modules)
    .filter((n) => !n.startsWith('.'))
    .flatMap((n) => (n.startsWith('@') ? readdirSync(join(modules, n)).map((m) => `${n}/${m}`) : [n]))
    .map((n) => ({ n, bytes: sizeOf(join(modules, n)) }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 6)
  console.log(
    `fresh install: ${fmt(total / 1e6, 1)} MB in node_modules (gramfarm itself ${fmt(own / 1e6, 1)} MB); largest: ${biggest.map((b) => `${b.n} ${fmt(b.bytes / 1e6, 1)} MB`).join(', ')}`,
  )

  const bin = join('node_modules', 'gramfarm', 'bin', 'gramfarm.js')
  const prefix = `gramfarm-bench-startup-${process.pid}:`
  const commands: Record<string, string[]> = {
    node: ['-e', '0'],
    help: [bin, '--help'],
    status: [bin, 'status', '--json', '--prefix', prefix],
  }
  for (const args of Object.values(commands)) timeNode(js, args) // warm the file cache
  const times: Record<string, number[]> = { node: [], help: [], status: [] }
  for (let i = 0; i < RUNS; i++)
    for (const [name, args] of Object.entries(commands)) times[name]!.push(timeNode(js, args))
  const ms = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])) as Record<string, number>
  console.log(
    `median of ${RUNS} interleaved runs: node -e 0 ${fmt(ms['node']!)} ms, gramfarm --help ${fmt(ms['help']!)} ms, gramfarm status --json ${fmt(ms['status']!)} ms`,
  )

  const ts = makeConsumer(join(dir, 'ts'), 'ts', packed.tarball)
  writeFileSync(join(ts, 'login.ts'), consumerLoginProgram('ts'))
  // The floor: the same project type-checking a file that imports only node's own modules (lib + @types/node).
  writeFileSync(join(ts, 'baseline.ts'), "import { readFileSync } from 'node:fs'\nconsole.log(readFileSync)\n")
  writeFileSync(
    join(ts, 'tsconfig.baseline.json'),
    JSON.stringify({ extends: './tsconfig.json', include: ['baseline.ts'], compilerOptions: { noEmit: true } }),
  )
  typeCheckConsumer(ts) // warm the file cache
  const tsc = typeCheckConsumer(ts)
  if (tsc.result.status !== 0) throw new Error(`consumer type check failed: ${tsc.result.stdout}`)
  const floor = typeCheckConsumer(ts, 'tsconfig.baseline.json')
  console.log(
    `TypeScript consumer (strict, node16, skipLibCheck), tsc of one small file: ${fmt(tsc.seconds, 2)} s (a file importing only node:fs: ${fmt(floor.seconds, 2)} s)`,
  )

  console.log(
    JSON.stringify({
      bench: 'startup',
      ratios: {
        help_vs_node: +(ms['help']! / ms['node']!).toFixed(2),
        status_vs_node: +(ms['status']! / ms['node']!).toFixed(2),
      },
      install_mb: +(total / 1e6).toFixed(1),
      consumer_tsc_s: +tsc.seconds.toFixed(2),
    }),
  )
} finally {
  await rm(dir, { recursive: true, force: true })
  // status leaves its queue's meta key behind
  const redis = new Redis(REDIS_URL)
  await deleteKeysUnder(redis, `gramfarm-bench-startup-${process.pid}:`).finally(() => redis.disconnect())
}

// The package as users install it: `npm pack`, then a fresh plain-JavaScript ESM project and a fresh strict
// TypeScript project (moduleResolution node16, skipLibCheck) install the tarball, log in against a test DC started
// from `gramfarm/testdc`, and run `npx gramfarm --help` — compiled JavaScript only, no tsx anywhere.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { deleteKeysUnder } from '../src/cli/redis-access.ts'
import {
  REPO_ROOT,
  consumerLoginProgram,
  makeConsumer,
  packPackage,
  typeCheckConsumer,
  type PackedTarball,
} from './support/packed-package.ts'

const REDIS_URL = 'redis://127.0.0.1:6379'

/** Every file a user needs; anything else in the tarball fails the test. */
const SHIPPED = [
  /^package\.json$/,
  /^README\.md$/,
  /^LICENSE$/,
  /^bin\/gramfarm\.js$/,
  /^dist\/.+\.(js|d\.ts|js\.map)$/,
  /^docs\/[a-z-]+\.md$/,
  /^config\/[a-z-]+\.example\.(txt|csv|json)$/,
  /^config\/demo-accounts(\.testdc)?\.json$/,
]

/** A consumer's `node` run with a deadline; stdout and stderr together for the failure message. */
function runNode(cwd: string, args: string[]): { code: number | null; out: string; stdout: string } {
  const r = spawnSync(process.execPath, args, {
    cwd,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, NODE_OPTIONS: '' },
  })
  return { code: r.status, out: `${r.stdout}\n${r.stderr}`, stdout: r.stdout }
}

/** Every module URL `node args` resolves, recorded by a module hook. */
function modulesLoadedBy(cwd: string, args: string[]): string[] {
  const log = join(cwd, 'loaded.txt')
  writeFileSync(log, '')
  writeFileSync(
    join(cwd, 'record-hooks.mjs'),
    `import { appendFileSync } from 'node:fs'
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  appendFileSync(${JSON.stringify(log)}, result.url + '\\n')
  return result
}
`,
  )
  writeFileSync(
    join(cwd, 'record.mjs'),
    "import { register } from 'node:module'\nregister('./record-hooks.mjs', import.meta.url)\n",
  )
  const run = runNode(cwd, ['--import', './record.mjs', ...args])
  assert.equal(run.code, 0, run.out)
  return readFileSync(log, 'utf8').split('\n').filter(Boolean)
}

describe('the package as users install it', { timeout: 600_000 }, () => {
  let dir = ''
  let packed: PackedTarball

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gramfarm-package-'))
    packed = packPackage(dir)
  })
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('the tarball holds the compiled package and what users read, and no tests, benches, CI or TypeScript sources', () => {
    const unexpected = packed.files.filter((f) => !SHIPPED.some((re) => re.test(f)))
    assert.deepEqual(unexpected, [], 'files users do not need')
    for (const needed of [
      'package.json',
      'README.md',
      'LICENSE',
      'bin/gramfarm.js',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/farm-api.js',
      'dist/farm-api.d.ts',
      'dist/testdc-api.js',
      'dist/testdc-api.d.ts',
      'dist/cli/main.js',
      'dist/worker/login-thread.js',
      'dist/mtproto/tl/generated/api223/codec.js',
      'dist/mtproto/tl/generated/api223/types.d.ts',
    ])
      assert.ok(packed.files.includes(needed), `${needed} is in the tarball`)
    assert.ok(!packed.files.some((f) => /^(test|bench|\.ci|src|scripts|tools|examples)\//.test(f)))
    // Nothing stale: each compiled module still has its source (a moved or deleted file leaves no orphan in dist/).
    const orphans = packed.files.filter(
      (f) =>
        f.startsWith('dist/') &&
        f.endsWith('.js') &&
        !existsSync(join(REPO_ROOT, f.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts'))),
    )
    assert.deepEqual(orphans, [], 'compiled files without a source (run: rm -r dist && npm run build)')
  })

  it('a plain JavaScript ESM project imports it and logs in against a test DC, without tsx', async () => {
    const project = makeConsumer(join(dir, 'js'), 'js', packed.tarball)
    assert.ok(!existsSync(join(project, 'node_modules', 'tsx')), 'tsx is not installed for users')
    assert.ok(!existsSync(join(project, 'node_modules', 'esbuild')), 'nor esbuild')
    writeFileSync(join(project, 'login.js'), consumerLoginProgram('js'))
    const run = runNode(project, ['login.js'])
    assert.equal(run.code, 0, run.out)
    assert.match(run.stdout, /\{"user":"\d+","users":1\}/)

    const help = spawnSync('npx', ['--no-install', 'gramfarm', '--help'], {
      cwd: project,
      encoding: 'utf8',
      timeout: 60_000,
    })
    assert.equal(help.status, 0, `${help.stdout}\n${help.stderr}`)
    assert.match(help.stdout, /^Usage: gramfarm /m)
    assert.match(help.stdout, /onboard/)
    // --help loads only the CLI: no queue, Redis, logger, thread pool, web server or TL codec (they cost start-up time).
    const loaded = modulesLoadedBy(project, [join('node_modules', 'gramfarm', 'bin', 'gramfarm.js'), '--help'])
    const heavy = loaded.filter((url) =>
      /\/node_modules\/(bullmq|ioredis|pino|pino-pretty|piscina|sql\.js|qrcode|fastify|@bull-board\/[a-z]+|prom-client)\/|\/tl\/generated\//.test(
        url,
      ),
    )
    assert.deepEqual(heavy, [], 'modules gramfarm --help should not load')
    assert.ok(
      loaded.some((url) => url.endsWith('/dist/cli/main.js')),
      'the hook saw the CLI load',
    )
    // status --json needs the queue and Redis, but not the MTProto client, its TL codec, threads or a web server.
    const prefix = `gramfarm-test-package-${process.pid}:`
    let statusLoaded: string[]
    const redis = new Redis(REDIS_URL)
    try {
      statusLoaded = modulesLoadedBy(project, [
        join('node_modules', 'gramfarm', 'bin', 'gramfarm.js'),
        '--redis-url',
        REDIS_URL,
        'status',
        '--json',
        '--prefix',
        prefix,
      ])
    } finally {
      await deleteKeysUnder(redis, prefix) // the queue's meta key
      redis.disconnect()
    }
    const notForStatus = statusLoaded.filter((url) =>
      /\/node_modules\/(piscina|pino-pretty|sql\.js|qrcode|fastify|@bull-board\/[a-z]+|prom-client)\/|\/tl\/generated\/|\/dist\/mtproto\/(client|session|handshake)\//.test(
        url,
      ),
    )
    assert.deepEqual(notForStatus, [], 'modules gramfarm status --json should not load')
    // One process: the command is the compiled CLI itself, not a launcher that spawns another Node.
    const bin = readFileSync(join(project, 'node_modules', 'gramfarm', 'bin', 'gramfarm.js'), 'utf8')
    assert.doesNotMatch(bin, /child_process|spawn\(|--import/)
  })

  it('a strict TypeScript project (moduleResolution node16, skipLibCheck) type-checks against the .d.ts and logs in', () => {
    const project = makeConsumer(join(dir, 'ts'), 'ts', packed.tarball)
    writeFileSync(join(project, 'login.ts'), consumerLoginProgram('ts'))
    const checked = typeCheckConsumer(project)
    assert.equal(checked.result.status, 0, `tsc: ${checked.result.stdout}\n${checked.result.stderr}`)
    const run = runNode(project, [join('out', 'login.js')])
    assert.equal(run.code, 0, run.out)
    assert.match(run.stdout, /\{"user":"\d+","users":1\}/)

    // And a wrong use is caught by the types: the options object is checked, not `any`.
    writeFileSync(
      join(project, 'login.ts'),
      "import { Client } from 'gramfarm'\nnew Client('x', { apiId: '1', apiHash: 2 })\n",
    )
    const wrong = typeCheckConsumer(project)
    assert.notEqual(wrong.result.status, 0, 'a wrong apiId/apiHash type does not type-check')
    assert.match(wrong.result.stdout, /TS2322/)
  })
})

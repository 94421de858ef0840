// The package as users get it: `npm run build`, `npm pack`, and fresh consumer projects (plain JavaScript ESM, or
// strict TypeScript with moduleResolution node16) that install the tarball from the npm cache `npm ci` filled.
// Shared by test/package.test.ts and bench/startup.ts.
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm'

/** What `npm pack --json` says about one tarball. */
export interface PackedTarball {
  tarball: string
  files: string[]
  /** Bytes of the .tgz. */
  size: number
  unpackedSize: number
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(cmd, args, {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 << 20,
  })
}

/** Builds dist/ (unless `npm test`'s pretest just did) and packs the package into `dir`. */
export function packPackage(dir: string): PackedTarball {
  if (process.env['npm_lifecycle_event'] !== 'test') run(NPM, ['run', '--silent', 'build'], REPO_ROOT)
  // The build just ran, so pack without scripts (prepare would build again).
  const out = run(NPM, ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], REPO_ROOT)
  const [info] = JSON.parse(out) as {
    filename: string
    size: number
    unpackedSize: number
    files: { path: string }[]
  }[]
  if (!info) throw new Error(`npm pack printed no package: ${out}`)
  return {
    tarball: join(dir, info.filename),
    files: info.files.map((f) => f.path),
    size: info.size,
    unpackedSize: info.unpackedSize,
  }
}

/** Versions of the TypeScript consumer's tools: the ones this repository pins, so the npm cache has them. */
function devVersion(name: string): string {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>
  }
  const version = pkg.devDependencies[name]
  if (!version) throw new Error(`${name} is not a devDependency`)
  return version
}

/** Installs packages into a project from the npm cache (the network only for what the cache lacks). */
export function npmInstall(project: string, specs: string[]): void {
  run(
    NPM,
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error', ...specs],
    project,
  )
}

export type ConsumerKind = 'js' | 'ts'

/** A fresh ESM project in `dir` with the tarball installed (and typescript + @types/node for a TypeScript one). */
export function makeConsumer(dir: string, kind: ConsumerKind, tarball: string): string {
  mkdirSync(dir, { recursive: true })
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: `consumer-${kind}`, version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`,
  )
  if (kind === 'ts') {
    writeFileSync(
      join(dir, 'tsconfig.json'),
      `${JSON.stringify(
        {
          compilerOptions: {
            target: 'ES2022',
            module: 'node16',
            moduleResolution: 'node16',
            strict: true,
            skipLibCheck: true,
            outDir: 'out',
            types: ['node'],
          },
          include: ['*.ts'],
        },
        null,
        2,
      )}\n`,
    )
  }
  npmInstall(
    dir,
    kind === 'ts'
      ? [tarball, `typescript@${devVersion('typescript')}`, `@types/node@${devVersion('@types/node')}`]
      : [tarball],
  )
  return dir
}

/** Type-checks (and compiles to out/) a TypeScript consumer with its own tsc; returns the wall time in seconds. */
export function typeCheckConsumer(
  dir: string,
  tsconfig = 'tsconfig.json',
): { seconds: number; result: SpawnSyncReturns<string> } {
  const t0 = performance.now()
  const result = spawnSync(
    process.execPath,
    [join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, tsconfig)],
    { cwd: dir, encoding: 'utf8' },
  )
  return { seconds: (performance.now() - t0) / 1000, result }
}

/**
 * A consumer program: starts a test DC from `gramfarm/testdc`, logs a test number in with `gramfarm`'s Client (the
 * code from Telegram's test-number rule, 99966XYYYY → X×5), prints `{"user": "<id>", "dc": <n>}` and stops. The
 * TypeScript version uses the public types, so a missing or wrong export fails its type check.
 */
export function consumerLoginProgram(kind: ConsumerKind): string {
  const ts = kind === 'ts'
  return `import { Client${ts ? ', type ClientOptions, type CodeContext' : ''} } from 'gramfarm'
import { startTestDc${ts ? ', type TestDcWithAccounts' : ''} } from 'gramfarm/testdc'

const dc${ts ? ': TestDcWithAccounts' : ''} = await startTestDc({ dcIds: [1, 2] })
try {
  const options${ts ? ': ClientOptions' : ''} = {
    apiId: 2040,
    apiHash: 'b18441a1ff607e10a989891a5462e627',
    inMemory: true,
    ...dc.clientOptions,
    phoneNumber: '+9996621234',
    phoneCode: async (ctx${ts ? ': CodeContext' : ''}) => (ctx.phoneNumber.endsWith('9996621234') ? '22222' : ''),
  }
  const client = new Client('consumer', options)
  await client.start()
  const me = await client.getMe()
  await client.stop()
  console.log(JSON.stringify({ user: String(me.id), users: dc.accounts.userByPhone('9996621234') === undefined ? 0 : 1 }))
} finally {
  await dc.stop()
}
`
}

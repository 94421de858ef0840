#!/usr/bin/env node
// `gramfarm` as an installed command: runs src/main/cli.ts under tsx in a child Node (so the worker's threads
// load TypeScript too), passing signals through and exiting with the CLI's own exit code.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const cli = fileURLToPath(new URL('../src/main/cli.ts', import.meta.url))
const tsx = import.meta.resolve('tsx')
const child = spawn(process.execPath, ['--import', tsx, cli, ...process.argv.slice(2)], { stdio: 'inherit' })
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => child.kill(signal))
}
child.on('exit', (code, signal) => {
  if (signal) process.kill(process.pid, signal)
  else process.exit(code ?? 1)
})

// Entry point of `gramfarm` (bin/gramfarm.js runs it under tsx; `npm start` runs `tsx src/cli/main.ts demo`).
// Turns every way a command can end into a documented exit code (see exit-codes.ts).
import { CommanderError } from 'commander'
import { FarmError } from '../farm/farm-error.ts'
import { redisPermissionError } from '../queue/redis-acl.ts'
import { actionExitCode } from './commands/command-kit.ts'
import { CliError, ExitCode, type ExitCodeValue } from './exit-codes.ts'
import { buildProgram } from './program.ts'
import { guardTerminalOutput } from './terminal-output.ts'

// Nothing from outside (file fields, arguments, Redis) reaches the terminal with its control characters.
guardTerminalOutput()

// `gramfarm status | head`: a reader that goes away is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
    throw err
  })
}

/**
 * How an error reaches stderr: a line for people, or under --json one JSON object
 * (`{"error":{"name","message","exitCode"}}`) a script can parse like the rest of the output.
 */
function errorWriter(json: boolean): (name: string, message: string, exitCode: ExitCodeValue) => void {
  return (name, message, exitCode) => {
    process.stderr.write(
      json ? `${JSON.stringify({ error: { name, message, exitCode } })}\n` : `gramfarm: ${message}\n`,
    )
  }
}

export async function main(argv: readonly string[] = process.argv): Promise<ExitCodeValue> {
  const program = buildProgram()
  // Only a --json before a lone `--` counts (after it, it is an argument).
  const end = argv.indexOf('--')
  const json = (end < 0 ? argv : argv.slice(0, end)).includes('--json')
  const fail = errorWriter(json)
  // Under --json, commander's own complaints (unknown option, missing argument) come as JSON too.
  if (json) {
    const quiet = (cmd: typeof program): void => {
      cmd.configureOutput({ outputError: () => undefined })
      for (const sub of cmd.commands) quiet(sub)
    }
    quiet(program)
  }
  try {
    await program.parseAsync([...argv])
    return actionExitCode() ?? ExitCode.ok
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return ExitCode.ok
      if (json) fail('UsageError', err.message.replace(/^error: /, ''), ExitCode.usage)
      return ExitCode.usage // otherwise commander has already printed what was wrong
    }
    if (err instanceof CliError) {
      fail(err.name, err.message, err.exitCode)
      return err.exitCode
    }
    // An ACL user lacking a permission: said as such (exit 7, like refused credentials), not as an internal error.
    const denied = redisPermissionError(err) ?? redisPermissionError((err as Error | undefined)?.cause)
    if (denied) {
      fail(denied.name, denied.message, ExitCode.redisAuthFailed)
      return ExitCode.redisAuthFailed
    }
    if (err instanceof FarmError) {
      // The farm refused what it was given (an accounts file, a run id): the operator's input, exit 2.
      fail(err.name, err.message, ExitCode.usage)
      return ExitCode.usage
    }
    if (json) fail('InternalError', `internal error: ${(err as Error)?.stack ?? String(err)}`, ExitCode.internal)
    else process.stderr.write(`gramfarm: internal error: ${(err as Error)?.stack ?? String(err)}\n`)
    return ExitCode.internal
  }
}

const code = await main()
process.exitCode = code
// Everything is closed by now; should a stray handle keep the process up, do not hang the shell.
setTimeout(() => process.exit(code), 3000).unref()

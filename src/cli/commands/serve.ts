// `gramfarm serve`: the operator's HTTP server — code callbacks (POST /v1/codes, /v1/passwords, the handler_api
// webhook), /healthz, /readyz — until stopped.
import type { Command } from 'commander'
import { CliError, ExitCode } from '../exit-codes.ts'
import { action, flagsOf } from './command-kit.ts'

interface ServeFlags {
  host?: string
  port?: string
  tokens?: string
  rate?: string
  bodyLimit?: string
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description("run the operator's HTTP server: code and password callbacks, SMS-service webhooks, health checks")
    .option(
      '--host <address>',
      'address to listen on (default 127.0.0.1: put a TLS-terminating proxy in front to expose it)',
    )
    .option('--port <n>', 'port (default 8787; 0 lets the OS pick)')
    .option(
      '--tokens <file>',
      'bearer tokens: JSON {"codes": [...], "admin": [...], "webhook": [...]} (also the config file\'s "serve": {"tokens", "adminTokens", "webhookTokens"} and $GRAMFARM_CODE_TOKENS, $GRAMFARM_ADMIN_TOKENS, $GRAMFARM_WEBHOOK_TOKENS)',
    )
    .option('--rate <n>', 'requests a minute one client may make to /v1/ (default 120, bursts of 30)')
    .option('--body-limit <bytes>', 'largest request body (default 16384)')
    .addHelpText(
      'after',
      `
Routes:
  POST /v1/codes       {"phone", "code", "attempt"?, "jobId"?}   Authorization: Bearer <codes or admin token>
  POST /v1/passwords   {"phone", "password", "jobId"?}
  POST /v1/webhooks/handler-api?token=<webhook token>   {"activationId", "code"?, "text"?} (SMS services)
  GET  /healthz, /readyz (Redis answers, a worker's heartbeat is alive)
  GET  /, /dashboard.json, /queues (bull-board), /metrics
Answers are JSON: {"status": "stored"|"pending"|"duplicate"|"stale", "waiting": <a login was waiting>} or
{"error": <reason>, "message"}; 200 a login took it, 202 parked for the next request, 4xx refused (nothing stored).

Example:
  GRAMFARM_CODE_TOKENS=$(openssl rand -hex 24) gramfarm serve --port 8787`,
    )
    .action(
      action(async (_opts: unknown, cmd: Command) => {
        const flags = flagsOf<ServeFlags>(cmd)
        const [
          { aborted, cliLogger, configOf, connectRedis, interruptSignal, positiveInt },
          { startOperatorServer },
          { loadServeTokens, ServeTokensError },
        ] = await Promise.all([
          import('../cli-context.ts'),
          import('../../operator/operator-server.ts'),
          import('../../operator/serve-tokens.ts'),
        ])
        const config = configOf(flags)
        const logger = cliLogger(config.logLevel)
        const port = flags.port === '0' ? 0 : (positiveInt(flags.port, '--port') ?? 8787)
        if (port > 65535) throw new CliError('--port must be 0-65535', ExitCode.usage)
        const rate = positiveInt(flags.rate, '--rate')
        const bodyLimit = positiveInt(flags.bodyLimit, '--body-limit')
        let tokens
        try {
          tokens = loadServeTokens(flags.tokens, process.env, config.serveTokens)
        } catch (err) {
          if (err instanceof ServeTokensError) throw new CliError(err.message, ExitCode.usage)
          throw err
        }
        if (tokens.codes.length + tokens.admin.length === 0)
          logger.warn('no code or admin tokens: /v1/codes and /v1/passwords refuse every request (401)')
        const redis = await connectRedis(config)
        // Listening before "serve ready" is said: a Ctrl-C right after it is a graceful stop.
        const interrupt = interruptSignal()
        const server = await startOperatorServer({
          redis,
          prefix: config.prefix,
          tokens,
          host: flags.host ?? '127.0.0.1',
          port,
          logger,
          sealer: (await import('../../foundation/master-key-source.ts')).keyringFromSpec(config.keyring),
          ...(rate ? { rateLimit: { perMinute: rate, burst: Math.max(1, Math.ceil(rate / 4)) } } : {}),
          ...(bodyLimit ? { bodyLimit } : {}),
        })
        logger.info({ url: server.url, prefix: config.prefix }, 'serve ready')
        await aborted(interrupt.signal)
        await server.close()
        redis.disconnect()
        return ExitCode.ok
      }),
    )
}

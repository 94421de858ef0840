// Where `gramfarm serve` gets its bearer tokens: the farm's config file ("serve": {"tokens", "adminTokens",
// "webhookTokens"}), a tokens file ({"codes": [...], "admin": [...], "webhook": [...]}, kept 0600 like any secret)
// and/or the environment (GRAMFARM_CODE_TOKENS, GRAMFARM_ADMIN_TOKENS, GRAMFARM_WEBHOOK_TOKENS, comma-separated);
// all of them count. Never argv: it shows in `ps`. Never in a log or an error message either: a bad token is named
// by where it is, not by its value.
import { readFileSync } from 'node:fs'
import { MIN_TOKEN_LENGTH, type ServeTokens } from './bearer-tokens.ts'

export class ServeTokensError extends Error {
  override readonly name = 'ServeTokensError'
}

const ROLES = ['codes', 'admin', 'webhook'] as const

function checked(list: unknown, where: string): string[] {
  if (list === undefined) return []
  if (!Array.isArray(list) || list.some((t) => typeof t !== 'string'))
    throw new ServeTokensError(`${where} must be a list of strings`)
  for (const t of list as string[]) {
    if (t.length < MIN_TOKEN_LENGTH || /\s/.test(t))
      throw new ServeTokensError(
        `${where}: every token must be at least ${MIN_TOKEN_LENGTH} characters, without blanks`,
      )
  }
  return list as string[]
}

export function loadServeTokens(
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  fromConfig?: ServeTokens,
): ServeTokens {
  let fromFile: Record<string, unknown> = {}
  if (file !== undefined) {
    let json: unknown
    try {
      json = JSON.parse(readFileSync(file, 'utf8')) as unknown
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      throw new ServeTokensError(`tokens file ${file}: ${code ? `cannot read it (${code})` : 'not valid JSON'}`)
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json))
      throw new ServeTokensError(`tokens file ${file}: expected a JSON object`)
    for (const k of Object.keys(json))
      if (!(ROLES as readonly string[]).includes(k))
        throw new ServeTokensError(`tokens file ${file}: unknown key "${k}" (codes, admin, webhook)`)
    fromFile = json as Record<string, unknown>
  }
  const fromEnv = (name: string): string[] =>
    checked(
      (env[name] ?? '')
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
      name,
    )
  const config = {
    codes: checked(fromConfig?.codes, 'config serve.tokens'),
    admin: checked(fromConfig?.admin, 'config serve.adminTokens'),
    webhook: checked(fromConfig?.webhook, 'config serve.webhookTokens'),
  }
  return {
    codes: [...config.codes, ...checked(fromFile.codes, 'codes'), ...fromEnv('GRAMFARM_CODE_TOKENS')],
    admin: [...config.admin, ...checked(fromFile.admin, 'admin'), ...fromEnv('GRAMFARM_ADMIN_TOKENS')],
    webhook: [...config.webhook, ...checked(fromFile.webhook, 'webhook'), ...fromEnv('GRAMFARM_WEBHOOK_TOKENS')],
  }
}

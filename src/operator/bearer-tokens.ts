// Bearer tokens of the operator's HTTP server: who may deliver codes, who is an admin. Compared in constant time
// (both sides hashed to 32 bytes first, so neither the token nor its length leaks through timing).
import { createHash, timingSafeEqual } from 'node:crypto'

export type TokenRole = 'codes' | 'admin' | 'webhook'

/** The tokens of each role; an admin token is good for every role. */
export interface ServeTokens {
  readonly codes: readonly string[]
  readonly admin: readonly string[]
  /** Tokens SMS services put in their webhook URL (`?token=`) or Authorization header. */
  readonly webhook: readonly string[]
}

/** Shortest token accepted: a guessable token on an HTTP endpoint that delivers login codes is no token. */
export const MIN_TOKEN_LENGTH = 16

const digest = (s: string): Buffer => createHash('sha256').update(s).digest()

export class TokenChecker {
  private readonly byRole: ReadonlyMap<TokenRole, readonly Buffer[]>

  constructor(tokens: ServeTokens) {
    const admin = tokens.admin.map(digest)
    this.byRole = new Map<TokenRole, readonly Buffer[]>([
      ['admin', admin],
      ['codes', [...tokens.codes.map(digest), ...admin]],
      ['webhook', [...tokens.webhook.map(digest), ...admin]],
    ])
  }

  /** Whether `token` is one of `role`'s; every stored token is compared, whatever matched. */
  allows(role: TokenRole, token: string | undefined): boolean {
    if (token === undefined || token === '') return false
    const given = digest(token)
    let ok = false
    for (const t of this.byRole.get(role) ?? []) ok = timingSafeEqual(t, given) || ok
    return ok
  }

  /** Whether any token of `role` exists (a role without tokens is closed). */
  has(role: TokenRole): boolean {
    return (this.byRole.get(role)?.length ?? 0) > 0
  }
}

/** `Authorization: Bearer <token>` → the token. */
export function bearerOf(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
  return m?.[1]
}

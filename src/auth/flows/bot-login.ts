// Login as a bot: auth.importBotAuthorization, following USER_MIGRATE_X to the bot's DC.
import { RpcError } from '../../mtproto/rpc-error.ts'
import { LoginError } from '../auth-errors.ts'
import type { Authorization, LoginHost } from './login-host.ts'

/** `<bot id>:<secret>`: what BotFather hands out. */
const BOT_TOKEN = /^\d+:[\w-]{20,}$/

export async function botLogin(host: LoginHost, botToken: string): Promise<Authorization> {
  if (!BOT_TOKEN.test(botToken))
    throw new LoginError('token_invalid', 'a bot token looks like 123456:ABC-… (digits, a colon, then the secret)')
  for (let hop = 0; hop < 3; hop++) {
    try {
      return await host.invoke<Authorization>({
        _: 'auth.importBotAuthorization',
        flags: 0,
        apiId: host.apiId,
        apiHash: host.apiHash,
        botAuthToken: botToken,
      })
    } catch (err) {
      if (err instanceof RpcError && err.isMigrate && err.dcId !== host.homeDc()) {
        host.switchHomeDc(err.dcId!)
        continue
      }
      if (err instanceof RpcError && (err.is('ACCESS_TOKEN_INVALID') || err.is('ACCESS_TOKEN_EXPIRED'))) {
        throw new LoginError('token_invalid', `Telegram refused the bot token (${err.errorMessage})`, err)
      }
      throw err
    }
  }
  throw new LoginError('token_invalid', 'auth.importBotAuthorization kept being redirected between DCs')
}

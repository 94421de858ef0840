// help.getAppConfig of the test DC with accounts: the JSON of client tunables, which for a frozen account carries
// freeze_since_date, freeze_until_date and freeze_appeal_url (core.telegram.org/api/config#app-config); the
// others get the DC's empty config. Works unauthenticated, as on Telegram.
import { createHash } from 'node:crypto'
import type { tl } from '../../mtproto/tl/index.ts'
import type { RpcHandler } from '../rpc-dispatcher.ts'
import type { AccountRegistry } from '../accounts/account-registry.ts'
import type { Freeze } from '../accounts/account.ts'
import { toRpcHandlers, type MethodHandlers } from '../accounts/rpc-method.ts'

/** help.appConfig's hash for the (empty) config of accounts that are not frozen (as help-service.ts sends it). */
const EMPTY_CONFIG_HASH = 1

function freezeConfig(f: Freeze): tl.RawJsonObject {
  return {
    _: 'jsonObject',
    value: [
      { _: 'jsonObjectValue', key: 'freeze_since_date', value: { _: 'jsonNumber', value: f.sinceDate } },
      { _: 'jsonObjectValue', key: 'freeze_until_date', value: { _: 'jsonNumber', value: f.untilDate } },
      { _: 'jsonObjectValue', key: 'freeze_appeal_url', value: { _: 'jsonString', value: f.appealUrl } },
    ],
  }
}

/** A non-zero int32 naming the config's content, so a client's cached hash stops matching when it changes. */
function configHash(f: Freeze): number {
  const h = createHash('sha256').update(`${f.sinceDate}:${f.untilDate}:${f.appealUrl}`).digest().readInt32LE(0)
  return h === 0 || h === EMPTY_CONFIG_HASH ? 2 : h
}

export function appConfigService(registry: AccountRegistry): Record<string, RpcHandler> {
  const handlers: MethodHandlers = {
    'help.getAppConfig': (req, ctx) => {
      const frozen = ctx.userId === null ? null : (registry.user(ctx.userId)?.frozen ?? null)
      const hash = frozen ? configHash(frozen) : EMPTY_CONFIG_HASH
      if (req.hash === hash) return { _: 'help.appConfigNotModified' }
      return { _: 'help.appConfig', hash, config: frozen ? freezeConfig(frozen) : { _: 'jsonObject', value: [] } }
    },
  }
  return toRpcHandlers(handlers)
}

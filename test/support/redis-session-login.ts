// A session the farm keeps in Redis is a working one: a Client started from it (no login, no code) is the account,
// and answers users.getUsers([inputUserSelf]) (getMe) through the test DC.
import { Client } from '../../src/auth/client.ts'
import { RedisSessionStorage } from '../../src/auth/storage/index.ts'
import type { Sealer } from '../../src/foundation/sealed-value.ts'
import { sessionKeyPrefix } from '../../src/queue/redis-keys.ts'
import { clientOptionsFor } from '../../src/testdc/testdc-endpoint.ts'
import { API, type Farm } from '../farm-e2e-harness.ts'

/** The user id getMe answers for the session `name` under the farm's prefix, opened with `sealer`. */
export async function getMeWithRedisSession(
  farm: Farm,
  name: string,
  sealer: Sealer,
  prefix = farm.prefix,
): Promise<string> {
  const client = new Client(`redis-${name}`, {
    ...API,
    storage: new RedisSessionStorage({ redis: farm.redis, name, keyPrefix: sessionKeyPrefix(prefix), sealer }),
    ...clientOptionsFor(farm.testDc.endpoint),
  })
  try {
    await client.start()
    return (await client.getMe()).id.toString()
  } finally {
    await client.stop()
  }
}

// Shared by the examples: API credentials from the environment, and the test DC when GRAMFARM_TESTDC is set.
import { testDcFromEnv } from '../src/testdc/testdc-endpoint.ts'

export const apiId = Number(process.env['API_ID'] ?? 12345)
export const apiHash = process.env['API_HASH'] ?? '0123456789abcdef0123456789abcdef'
/** `{ testMode, dcs, rsaKeys }` of the local test DC, or {} for Telegram. */
export const network = testDcFromEnv() ?? {}

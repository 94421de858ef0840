// Non-interactive login: every credential is a value or an async callback, so nothing is ever asked.
// On the test DC, 99966XYYYY numbers always get the code XXXXX (X = the DC).
import { Client } from '../src/index.ts'
import { apiId, apiHash, network } from './example-env.ts'

async function fetchCode(ctx: { phoneNumber: string; attempt: number; codeType: string }): Promise<string> {
  // A real farm would wait for its SMS provider here (see src/queue/code-channel.ts).
  console.log(`code #${ctx.attempt} (${ctx.codeType}) requested for ${ctx.phoneNumber}`)
  return process.env['PHONE_CODE'] ?? ctx.phoneNumber.slice(5, 6).repeat(5)
}

const app = new Client('my_account', {
  apiId,
  apiHash,
  inMemory: true,
  ...network,
  phoneNumber: process.env['PHONE'] ?? '9996621234',
  phoneCode: fetchCode,
  password: async (ctx) => process.env['PASSWORD'] ?? (ctx.hint ? `(unknown, hint ${ctx.hint})` : ''),
})
await app.run(async (client) => {
  const me = await client.getMe()
  console.log(`logged in as user ${me.id} (+${me.phone ?? '?'})`)
})

// Export a session as a Pyrogram-compatible string, then start a second client from it: no login again.
import { Client } from '../src/index.ts'
import { apiId, apiHash, network } from './example-env.ts'

const first = new Client('exporter', {
  apiId,
  apiHash,
  inMemory: true,
  ...network,
  phoneNumber: process.env['PHONE'] ?? '9996621234',
  phoneCode: async (ctx) => process.env['PHONE_CODE'] ?? ctx.phoneNumber.slice(5, 6).repeat(5),
})
await first.start()
const sessionString = await first.exportSessionString()
await first.stop()
console.log(`session string: ${sessionString.slice(0, 12)}… (${sessionString.length} chars; keep it secret)`)

const second = new Client('importer', { apiId, apiHash, sessionString, ...network })
await second.start() // asks nothing: the string carries the auth key
console.log(`started from the string as user ${(await second.getMe()).id}`)
await second.stop()

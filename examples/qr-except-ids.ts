// QR login that refuses accounts already logged in elsewhere: their ids go in exceptIds
// (auth.exportLoginToken's except_ids), so scanning with one of them does not create a second authorization.
import { Client } from '../src/index.ts'
import { apiId, apiHash, network } from './example-env.ts'

const alreadyLoggedIn = (process.env['EXCEPT_IDS'] ?? '123456789').split(',').map((id) => BigInt(id))
const app = new Client('my_account', { apiId, apiHash, inMemory: true, ...network })
await app.start({ useQr: true, exceptIds: alreadyLoggedIn })
console.log(`logged in as ${(await app.getMe()).id}`)
await app.stop()

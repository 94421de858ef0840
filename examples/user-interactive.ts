// Interactive user login: phone, code and (if set) the 2FA password are asked on the terminal.
import { Client } from '../src/index.ts'
import { apiId, apiHash, network } from './example-env.ts'

const app = new Client('my_account', { apiId, apiHash, ...network })
await app.start()
const me = await app.getMe()
console.log(`logged in as ${me.firstName ?? ''} (id ${me.id}); the session is in my_account.session`)
await app.stop()

// A bot by token.
import { Client } from '../src/index.ts'
import { apiId, apiHash, network } from './example-env.ts'

const botToken = process.env['BOT_TOKEN'] ?? '123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11'
await using bot = await new Client('my_bot', { apiId, apiHash, botToken, inMemory: true, ...network }).start()
const me = await bot.getMe()
console.log(`bot @${me.username ?? '?'} (id ${me.id}) is logged in`)

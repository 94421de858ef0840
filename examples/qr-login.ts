// QR login: the QR code is printed on the terminal; scan it in Telegram (Settings → Devices → Link Desktop Device).
import { Client } from '../src/index.ts'
import { apiId, apiHash, network } from './example-env.ts'

const app = new Client('my_account', {
  apiId,
  apiHash,
  inMemory: true,
  ...network,
  onQrCode: (qr) => console.log(`${qr.ascii}\n${qr.url}\n(expires at ${new Date(qr.expires * 1000).toISOString()})`),
})
await app.start({ useQr: true })
console.log(`logged in as ${(await app.getMe()).id}`)
await app.stop()

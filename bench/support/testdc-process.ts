// Runs a test DC in its own process for benchmarks, so the server's CPU is not counted against the client.
// Prints one JSON line with the DC ports and the public key, then serves until stdin closes.
import { startTestDc } from '../../src/testdc/test-dc.ts'

const dc = await startTestDc({ dcIds: [1, 2, 3] })
process.stdout.write(`${JSON.stringify({
  host: dc.host,
  ports: Object.fromEntries(dc.dcs.map((d) => [d.id, d.port])),
  publicKey: { n: dc.publicKey.n.toString(), e: dc.publicKey.e.toString(), fingerprint: dc.publicKey.fingerprint.toString(), size: dc.publicKey.size },
})}\n`)
process.stdin.resume()
process.stdin.on('end', () => void dc.stop().then(() => process.exit(0)))
process.on('SIGTERM', () => void dc.stop().then(() => process.exit(0)))

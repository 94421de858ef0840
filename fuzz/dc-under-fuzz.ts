// The test DC the `dc` fuzz mode attacks, in a process of its own (forked with IPC) so its RSS is its own and a
// crash of it is seen as its exit. Serves DC 2 with the accounts API (one user, so logins can be attempted), with
// the limits given in FUZZ_DC_LIMITS (JSON), and answers the parent's `sample` / `gc` messages with its memory and
// counters. An uncaught exception or unhandled rejection is reported as a crash, then the process exits.
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { AccountRegistry } from '../src/testdc/accounts/index.ts'
import { startTestDc } from '../src/testdc/test-dc.ts'
import type { DcLimits } from '../src/testdc/dc-limits.ts'
import { BUNDLED_LAYERS, codecForLayerSync } from '../src/mtproto/tl/index.ts'

export type DcUnderFuzzMessage =
  | { type: 'ready'; port: number; publicKey: { n: string; e: string; fingerprint: string; size: number } }
  | {
      type: 'sample'
      rss: number
      heapUsed: number
      loopDelayMaxMs: number
      openConnections: number
      bufferedBytes: number
      keys: number
      sessions: number
      stats: Record<string, number>
    }
  | { type: 'crash'; error: string }

export type DcUnderFuzzRequest = { type: 'sample' } | { type: 'gc' }

const DC_ID = 2

function send(msg: DcUnderFuzzMessage): void {
  process.send?.(msg)
}

function crash(err: unknown): void {
  send({ type: 'crash', error: err instanceof Error ? (err.stack ?? err.message) : String(err) })
  setTimeout(() => process.exit(70), 50)
}
process.on('uncaughtException', crash)
process.on('unhandledRejection', crash)

const limits = JSON.parse(process.env['FUZZ_DC_LIMITS'] ?? '{}') as Partial<DcLimits>
const accounts = new AccountRegistry({ dcIds: [DC_ID] })
accounts.addUser({ phone: '9996621234', firstName: 'Fuzz' })
const dc = await startTestDc({ dcIds: [DC_ID], accounts, limits })
// Every layer the DC can serve, loaded now (a codec of ~2 MB each, bounded by the bundled layers): the fuzzer's
// mutated invokeWithLayer would load them one by one, and RSS growing with them would hide a real leak.
for (const layer of BUNDLED_LAYERS) codecForLayerSync(layer)
const server = dc.dc(DC_ID)

// how long the DC's event loop was blocked at worst since the last sample (a bomb inflating, a big frame...)
const loopDelay = monitorEventLoopDelay({ resolution: 10 })
loopDelay.enable()

function sample(): DcUnderFuzzMessage {
  const mem = process.memoryUsage()
  const loopDelayMaxMs = Math.round(loopDelay.max / 1e6)
  loopDelay.reset()
  let sessions = 0
  for (const key of server.keys.values()) sessions += key.sessions.size
  return {
    type: 'sample',
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    loopDelayMaxMs,
    openConnections: server.openConnections,
    bufferedBytes: server.bufferedBytes,
    keys: server.keys.size,
    sessions,
    stats: { ...server.stats },
  }
}

process.on('message', (req: DcUnderFuzzRequest) => {
  if (req.type === 'gc') (globalThis as { gc?: () => void }).gc?.()
  send(sample())
})
process.on('disconnect', () => void dc.stop().then(() => process.exit(0)))
send({
  type: 'ready',
  port: server.port,
  publicKey: {
    n: dc.publicKey.n.toString(),
    e: dc.publicKey.e.toString(),
    fingerprint: dc.publicKey.fingerprint.toString(),
    size: dc.publicKey.size,
  },
})

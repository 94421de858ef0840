// A farm worker behind a Redis proxy, closed while Redis is away (connections dropped, new ones refused): the
// process must then end by itself. Prints `closed <ms>` after close(); if anything still holds the process
// after it, prints what (the parent test fails on the missing exit, and shows this).
import { startRedisProxy, uniquePrefix, API, FAST_RATE } from '../farm-e2e-harness.ts'
import { startFarmWorker } from '../../src/worker/farm-worker.ts'

const graceMs = Number(process.env.CLOSE_GRACE_MS ?? 1_000)
const proxy = await startRedisProxy()
const worker = await startFarmWorker({
  redis: { url: proxy.url },
  prefix: uniquePrefix('close-outage'),
  ...API,
  threads: 1,
  concurrency: 4,
  sendCodeRate: FAST_RATE,
  closeGraceMs: graceMs,
  lockDurationMs: 2_000,
  stalledIntervalMs: 1_000,
})
await new Promise((r) => setTimeout(r, 300))
const outage = proxy.outage(4_000)
await new Promise((r) => setTimeout(r, 300))
const started = Date.now()
await worker.close()
console.log(`closed ${Date.now() - started}`)
await proxy.close()
await outage
setTimeout(() => console.log(`still running: ${process.getActiveResourcesInfo().join(', ')}`), 3_000).unref()

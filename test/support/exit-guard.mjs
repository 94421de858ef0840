// Loaded into every test file's process by `npm test` (--import): once the file's tests are done, the process
// has a grace period to end by itself; if a timer, socket or child process still holds it then, it names what
// (process.getActiveResourcesInfo) and exits 1. A leaked handle fails its file in minutes instead of hanging the
// whole run until CI's limit (a BullMQ lock-renewal timer once kept `npm test` alive for 13 minutes).
// Plain JavaScript: --import flags reach worker threads too (piscina's), where tsx may not be loaded yet.
import { isMainThread } from 'node:worker_threads'

/** How long a file's process may take to end after its tests (and their cleanup) are done. */
const EXIT_GRACE_MS = Number(process.env.GRAMFARM_TEST_EXIT_GRACE_MS ?? 120_000)

// Only in the main thread of the processes that run test files (the runner sets NODE_TEST_CONTEXT for them).
if (isMainThread && process.env.NODE_TEST_CONTEXT?.startsWith('child')) {
  const { after } = await import('node:test')
  // A root-level after hook runs before the file's own root-level after hooks: the grace covers their cleanup too.
  after(() => {
    setTimeout(() => {
      process.stderr.write(
        `exit guard: the process did not end ${EXIT_GRACE_MS} ms after its tests; still open: ${process.getActiveResourcesInfo().join(', ')}\n`,
      )
      process.exit(1)
    }, EXIT_GRACE_MS).unref()
  })
}

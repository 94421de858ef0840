// The queue layer's own failures (code channel, except_ids registry, SMS providers): one base, and `transient`
// says whether the same call may succeed later unchanged (the worker retries a step that failed transiently).
export class QueueError extends Error {
  /** Bad input and refusals are not transient; a provider or a wait that may work on another try says so. */
  get transient(): boolean {
    return false
  }
}

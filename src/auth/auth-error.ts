// The auth layer's failures (login outcomes, account states, missing credentials, session storage): one base, and
// `transient` says whether the same step may succeed on another try.
export class AuthError extends Error {
  /** A login outcome or a refusal is not transient; a storage whose backing store failed says so. */
  get transient(): boolean {
    return false
  }
}

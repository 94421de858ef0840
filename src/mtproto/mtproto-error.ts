// The protocol layer's failures (transport, proxy, key exchange, session, RPC errors, deadlines): one base, so a
// caller tells them from bugs by class, and `transient` says whether another attempt — a new connection, the same
// call later — may succeed. The farm's worker retries a login step on a transient failure instead of ending it.
export class MtprotoError extends Error {
  /** A refusal or a broken peer is not transient; passing network or DC trouble says so (an accessor, so a class
   * can decide by its fields). */
  get transient(): boolean {
    return false
  }
}

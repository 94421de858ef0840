// The farm's own failures (accounts files, runs, the coordinator): one base so the CLI tells them from bugs and
// maps each to its exit code, and `transient` says whether the same call may succeed later unchanged.
export class FarmError extends Error {
  /** Bad input or a refused request is not transient: trying again with the same input fails the same way. */
  get transient(): boolean {
    return false
  }
}

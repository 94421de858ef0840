// What one test DC holds at most, and for how long: every resource a client can make it keep (sockets, bytes,
// inflated gzip, sessions, auth keys) has a bound here, so a hostile or broken client cannot hang or balloon it.
// Each knob is set per cluster with `startTestDc({ limits })`; the defaults leave room for the benches (1,000 idle
// clients, 2,000 logins) and mirror Telegram where its behaviour is known.

export interface DcLimits {
  /**
   * A connection that has not identified its transport within this many ms is closed. MTProxy (Telegram's own
   * front end) arms a 10 s timer when it accepts a connection.
   */
  detectTimeoutMs: number
  /**
   * Once the transport is known, a connection from which nothing arrives for this many ms is closed. Clients keep
   * theirs alive: ours pings every 60 s, TDLib when offline every 60 s with ping_delay_disconnect of 137 s.
   */
  idleTimeoutMs: number
  /**
   * Open connections per DC. One more is answered with transport error -429 (Telegram's "too many connections")
   * as soon as its transport is known, then closed; past this plus REFUSAL_HEADROOM sockets are dropped at once.
   */
  maxConnections: number
  /**
   * Largest frame a client may declare; a longer one closes the connection before any of it is buffered. MTProxy's
   * bound (MAX_POST_SIZE, 1 MiB − 4 KiB), which covers Telegram's largest request (a 512 KiB file part).
   */
  maxFrameBytes: number
  /**
   * Bytes all connections of a DC may hold together: frames being received, frames waiting to be handled, answers
   * the client has not read. The connection whose growth takes the total past this is closed.
   */
  maxBufferedBytes: number
  /**
   * Bytes that the gzip_packed objects of one packet may inflate to, all of them together (the TL runtime's
   * DecodeBudget). Telegram's requests stay under 1 MiB, so 16 MiB is room for anything real.
   */
  maxInflatedBytes: number
  /** Containers and gzip_packed one inside another in one packet (DecodeBudget's maxDepth). */
  maxPackingDepth: number
  /**
   * Sessions (auth key + session_id) a DC remembers, least recently used forgotten first. A message in a forgotten
   * session starts a new one, announced by new_session_created, as Telegram does for any session it does not know.
   */
  maxSessions: number
  /**
   * Bytes all sessions of a DC may keep about past messages: bodies sent (for msg_resend_req), states of received
   * msg_ids (msgs_state_req) and where answers went (msg_detailed_info). Past it the DC's oldest entries go first.
   */
  maxSessionHistoryBytes: number
  /**
   * Auth keys a DC remembers, least recently used forgotten first, with their sessions and their login. A packet
   * under a forgotten key gets transport error -404, as for any key the DC does not know.
   */
  maxAuthKeys: number
}

export const DEFAULT_DC_LIMITS: Readonly<DcLimits> = {
  detectTimeoutMs: 10_000,
  idleTimeoutMs: 300_000,
  maxConnections: 10_000,
  // 262144 * 4 - 4096: MTProxy's MAX_POST_SIZE
  maxFrameBytes: 1_044_480,
  maxBufferedBytes: 64 * 1024 * 1024,
  maxInflatedBytes: 16 * 1024 * 1024,
  // the TL runtime's MAX_PACKING_DEPTH; Telegram itself uses two levels (a container, then gzip_packed)
  maxPackingDepth: 8,
  maxSessions: 20_000,
  maxSessionHistoryBytes: 64 * 1024 * 1024,
  maxAuthKeys: 100_000,
}

/** Sockets past maxConnections that may wait for their transport to be known to be told -429. */
export const REFUSAL_HEADROOM = 64

/** The limits with every knob given in `partial` replacing its default; a knob that is not a positive number is refused. */
export function resolveDcLimits(partial: Partial<DcLimits> = {}): DcLimits {
  const limits: DcLimits = { ...DEFAULT_DC_LIMITS }
  for (const name of Object.keys(DEFAULT_DC_LIMITS) as (keyof DcLimits)[]) {
    const value = partial[name]
    if (value === undefined) continue
    if (typeof value !== 'number' || !(value > 0))
      throw new RangeError(`test DC limit ${name} must be a positive number, got ${String(value)}`)
    limits[name] = value
  }
  return limits
}

/** Why the DC closed a connection on its own: the limit that was reached. */
export class DcLimitError extends Error {
  override readonly name = 'DcLimitError'
  constructor(
    readonly limit: keyof DcLimits,
    detail: string,
  ) {
    super(`test DC limit ${limit} reached: ${detail}`)
  }
}

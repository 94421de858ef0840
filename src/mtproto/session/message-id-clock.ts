// msg_id ≈ unixtime·2^32, strictly increasing within a session, divisible by 4 for client messages
// (odd for server messages: 1 for answers, 3 for the rest). The clock keeps the server's time offset.

const TWO_32 = 4294967296

export class MessageIdClock {
  /** Server time minus local time, in seconds (fractional). */
  private offset = 0
  private last = 0n

  constructor(
    /** 0 for client messages, 1 / 3 for server answers / server-initiated messages. */
    private readonly parity: 0 | 1 | 3 = 0,
    private readonly now: () => number = Date.now,
  ) {}

  /** Current server time in seconds, as we believe it. */
  serverTime(): number {
    return this.now() / 1000 + this.offset
  }

  get timeOffset(): number {
    return this.offset
  }

  /** Adopts the server's clock from one of its msg_ids (bad_msg_notification 16/17, the first answer). */
  syncFrom(serverMsgId: bigint): void {
    this.offset = Number(serverMsgId >> 32n) - this.now() / 1000
  }

  setServerTime(seconds: number): void {
    this.offset = seconds - this.now() / 1000
  }

  /**
   * Forgets the last id, so ids follow the clock again even when it moved back (ids only have to increase
   * within one session: call this when a new session starts, e.g. after bad_msg_notification 17).
   */
  restart(): void {
    this.last = 0n
  }

  next(): bigint {
    const t = this.serverTime()
    const sec = Math.floor(t)
    // The low 32 bits carry the fraction of the second, with the low two bits set to the parity.
    const frac = Math.floor((t - sec) * TWO_32) >>> 0
    let id = (BigInt(sec) << 32n) | BigInt((frac & ~3) >>> 0) | BigInt(this.parity)
    if (id <= this.last) id = this.last + 4n
    this.last = id
    return id
  }

  /** Seconds between a msg_id's time and now (positive: the id is in the past). */
  ageOf(msgId: bigint): number {
    return this.serverTime() - Number(msgId >> 32n)
  }
}

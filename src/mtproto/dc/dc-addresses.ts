// Where Telegram's DCs are, before help.getConfig says better (tdesktop's built-in list; test DCs from
// core.telegram.org/api/datacenter). The port of a DC can be overridden for our local test DC.

export interface DcAddress {
  id: number
  host: string
  port: number
  ipv6?: boolean
}

export const PRODUCTION_DCS: readonly DcAddress[] = [
  { id: 1, host: '149.154.175.50', port: 443 },
  { id: 2, host: '149.154.167.51', port: 443 },
  { id: 3, host: '149.154.175.100', port: 443 },
  { id: 4, host: '149.154.167.91', port: 443 },
  { id: 5, host: '149.154.171.5', port: 443 },
]

export const PRODUCTION_DCS_IPV6: readonly DcAddress[] = [
  { id: 1, host: '2001:0b28:f23d:f001::a', port: 443, ipv6: true },
  { id: 2, host: '2001:067c:04e8:f002::a', port: 443, ipv6: true },
  { id: 3, host: '2001:0b28:f23d:f003::a', port: 443, ipv6: true },
  { id: 4, host: '2001:067c:04e8:f004::a', port: 443, ipv6: true },
  { id: 5, host: '2001:0b28:f23f:f005::a', port: 443, ipv6: true },
]

export const TEST_DCS: readonly DcAddress[] = [
  { id: 1, host: '149.154.175.10', port: 443 },
  { id: 2, host: '149.154.167.40', port: 443 },
  { id: 3, host: '149.154.175.117', port: 443 },
]

/** A table of DC addresses: the built-in one, overridden by help.getConfig or by the caller. */
export class DcTable {
  private readonly byId = new Map<number, DcAddress>()

  constructor(initial: readonly DcAddress[]) {
    for (const dc of initial) this.set(dc)
  }

  static forMode(testMode: boolean): DcTable {
    return new DcTable(testMode ? TEST_DCS : PRODUCTION_DCS)
  }

  set(dc: DcAddress): void {
    this.byId.set(dc.id, dc)
  }

  get(id: number): DcAddress {
    const dc = this.byId.get(id)
    if (!dc) throw new RangeError(`unknown DC ${id}`)
    return dc
  }

  has(id: number): boolean {
    return this.byId.has(id)
  }

  all(): DcAddress[] {
    return [...this.byId.values()]
  }
}

// A small timing harness: run a function in batches until a time budget is spent, several rounds,
// and report the median rate. Benchmarks print figures; they are never pass/fail tests.

export interface Rate {
  opsPerSec: number
  /** Median time of one operation, in microseconds. */
  usPerOp: number
}

export function measure(fn: () => void, { rounds = 5, roundMs = 400, warmupMs = 300 } = {}): Rate {
  const run = (ms: number): number => {
    let n = 0
    let batch = 1
    const start = process.hrtime.bigint()
    const budget = BigInt(ms) * 1_000_000n
    let elapsed = 0n
    while (elapsed < budget) {
      for (let i = 0; i < batch; i++) fn()
      n += batch
      if (batch < 1024) batch *= 2
      elapsed = process.hrtime.bigint() - start
    }
    return n / (Number(elapsed) / 1e9)
  }
  run(warmupMs)
  const rates: number[] = []
  for (let r = 0; r < rounds; r++) rates.push(run(roundMs))
  rates.sort((a, b) => a - b)
  const opsPerSec = rates[Math.floor(rates.length / 2)]!
  return { opsPerSec, usPerOp: 1e6 / opsPerSec }
}

export async function measureAsync(fn: () => Promise<void>, { rounds = 3, roundMs = 1000 } = {}): Promise<Rate> {
  const rates: number[] = []
  for (let r = 0; r < rounds + 1; r++) {
    let n = 0
    const start = performance.now()
    while (performance.now() - start < roundMs) {
      await fn()
      n++
    }
    if (r > 0) rates.push(n / ((performance.now() - start) / 1000))
  }
  rates.sort((a, b) => a - b)
  const opsPerSec = rates[Math.floor(rates.length / 2)]!
  return { opsPerSec, usPerOp: 1e6 / opsPerSec }
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
}

/** Prints a table: one row per library, with ratios against the first row. */
export function printTable(title: string, rows: { name: string; rate: Rate }[]): void {
  console.log(`\n${title}`)
  const base = rows[0]!.rate.opsPerSec
  for (const r of rows) {
    console.log(
      `  ${r.name.padEnd(22)} ${fmt(r.rate.opsPerSec).padStart(12)} ops/s ${fmt(r.rate.usPerOp, 2).padStart(10)} µs/op   ${r === rows[0] ? '' : `gramfarm is ${fmt(base / r.rate.opsPerSec, 2)}×`}`,
    )
  }
}

// /metrics of `gramfarm serve`: the farm's figures in Prometheus' text format. Counters the workers keep in
// Redis (logins by kind and state, login duration and code-wait histograms, auth.sendCode pacing, FLOOD_WAIT
// seconds per DC) are read at each scrape, so every worker's work is in them and they equal the reports; the
// queue's depth by state, connected workers and the except_ids registry's size are looked up then too. The
// server's own figures (code deliveries over HTTP, Redis round trip, Node's process metrics) come from prom-client.
import type { Queue } from 'bullmq'
import type { RedisClient } from '../queue/redis-connection.ts'
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { readFarmStats, type StoredHistogram } from '../queue/farm-stats.ts'
import { FarmRedisKeys } from '../queue/redis-keys.ts'
import { connectedWorkers } from '../farm/worker-presence.ts'

/** The BullMQ states a job of the login queue can be in. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'] as const

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')

function labels(l: Record<string, string>): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${escapeLabel(v)}"`)
  return parts.length > 0 ? `{${parts.join(',')}}` : ''
}

function header(name: string, type: string, help: string): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`
}

function histogramText(name: string, help: string, h: StoredHistogram): string {
  let out = header(name, 'histogram', help)
  for (const b of h.buckets) out += `${name}_bucket${labels({ le: b.le })} ${b.count}\n`
  return `${out}${name}_sum ${h.sum}\n${name}_count ${h.count}\n`
}

export class FarmMetrics {
  readonly registry = new Registry()
  private readonly deliveries: Counter<'kind' | 'status' | 'via'>
  private readonly redisRoundTrip: Histogram
  private readonly keys: FarmRedisKeys

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly queue: Queue,
  ) {
    this.keys = new FarmRedisKeys(prefix)
    collectDefaultMetrics({ register: this.registry, prefix: 'gramfarm_serve_' })
    this.deliveries = new Counter({
      name: 'gramfarm_code_deliveries_total',
      help: 'Codes and passwords delivered over HTTP, by delivery status',
      labelNames: ['kind', 'status', 'via'],
      registers: [this.registry],
    })
    this.redisRoundTrip = new Histogram({
      name: 'gramfarm_redis_roundtrip_seconds',
      help: 'Redis PING round trips measured by the server (one per scrape)',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [this.registry],
    })
  }

  delivered(kind: string, status: string, via: string): void {
    this.deliveries.inc({ kind, status, via })
  }

  /** The whole exposition: the farm's figures from Redis, then the server's own. */
  async render(): Promise<string> {
    const started = performance.now()
    await this.redis.ping()
    this.redisRoundTrip.observe((performance.now() - started) / 1000)
    const [stats, counts, presence, exceptIds] = await Promise.all([
      readFarmStats(this.redis, this.keys.stats),
      this.queue.getJobCounts(...QUEUE_STATES),
      connectedWorkers(this.queue).catch(() => ({ workers: null })),
      this.redis.scard(this.keys.exceptIds.authorizedIds),
    ])
    let out = header(
      'gramfarm_logins_total',
      'counter',
      "Logins finished, by kind and final state (the report's state column)",
    )
    for (const l of stats.logins) out += `gramfarm_logins_total${labels({ kind: l.kind, state: l.state })} ${l.count}\n`
    out += histogramText('gramfarm_login_duration_seconds', 'From enqueue to final state', stats.loginDuration)
    out += histogramText('gramfarm_code_wait_seconds', 'How long logins waited for their login code', stats.codeWait)
    out += header('gramfarm_queue_jobs', 'gauge', 'Login jobs in the queue, by BullMQ state')
    for (const s of QUEUE_STATES) out += `gramfarm_queue_jobs${labels({ state: s })} ${counts[s] ?? 0}\n`
    out += header(
      'gramfarm_send_code_total',
      'counter',
      "auth.sendCode slots: granted, or paced (held back) by the global bucket, the DC's bucket or a FLOOD_WAIT penalty",
    )
    for (const [k, v] of Object.entries(stats.sendCode))
      out += `gramfarm_send_code_total${labels({ result: k.replace(':', '_') })} ${v}\n`
    out += header(
      'gramfarm_flood_wait_seconds_total',
      'counter',
      'FLOOD_WAIT seconds Telegram asked for on auth.sendCode, by DC',
    )
    for (const [dc, v] of Object.entries(stats.floodWait))
      out += `gramfarm_flood_wait_seconds_total${labels({ dc })} ${v}\n`
    if (presence.workers !== null)
      out += `${header('gramfarm_workers', 'gauge', 'Workers connected to the login queue')}gramfarm_workers ${presence.workers.length}\n`
    out += `${header('gramfarm_except_ids', 'gauge', 'Accounts in the except_ids registry (authorized by this farm)')}gramfarm_except_ids ${exceptIds}\n`
    return out + (await this.registry.metrics())
  }
}

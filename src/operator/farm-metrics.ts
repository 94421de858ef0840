// /metrics of `gramfarm serve`: the farm's figures in Prometheus' text format. Counters the workers keep in
// Redis (logins by kind and state, login duration and code-wait histograms, auth.sendCode pacing, FLOOD_WAIT
// seconds per DC) are read at each scrape, so every worker's work is in them and they equal the reports; the
// queue's depth by state, the current FLOOD_WAIT per DC, sendCode rates, the workers alive (heartbeats) and their
// threads and the except_ids registry's size are looked up then too. The
// server's own figures (code deliveries over HTTP, Redis round trip, Node's process metrics) come from prom-client.
import type { Queue } from 'bullmq'
import type { RedisClient } from '../queue/redis-connection.ts'
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { readFarmStats, type StoredHistogram } from '../queue/farm-stats.ts'
import { FarmRedisKeys } from '../queue/redis-keys.ts'
import { farmWorkers } from '../farm/worker-presence.ts'
import { readFloodWaits } from '../queue/flood-waits.ts'
import { readSendCodeRates } from '../queue/send-code-rates.ts'

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
    private readonly prefix: string,
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
    const [stats, counts, presence, exceptIds, floods, rates] = await Promise.all([
      readFarmStats(this.redis, this.keys.stats),
      this.queue.getJobCounts(...QUEUE_STATES),
      farmWorkers(this.redis, this.prefix, this.queue),
      this.redis.scard(this.keys.exceptIds.authorizedIds),
      readFloodWaits(this.redis, this.keys.stats),
      readSendCodeRates(this.redis, this.keys.stats),
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
      'FLOOD_WAIT seconds Telegram asked for during logins, by DC',
    )
    for (const [dc, v] of Object.entries(stats.floodWait))
      out += `gramfarm_flood_wait_seconds_total${labels({ dc })} ${v}\n`
    out += header(
      'gramfarm_flood_wait_current_seconds',
      'gauge',
      'Seconds left of the longest FLOOD_WAIT lasting now, by DC (0: none)',
    )
    for (const [dc, f] of Object.entries(floods))
      out += `gramfarm_flood_wait_current_seconds${labels({ dc })} ${f.leftS}\n`
    out += header(
      'gramfarm_send_code_per_minute',
      'gauge',
      `auth.sendCode slots a minute over the last ${rates.windowS / 60} minutes: sent or paced, all DCs or one`,
    )
    out += `gramfarm_send_code_per_minute${labels({ result: 'sent', dc: 'all' })} ${rates.global.sentPerMin}\n`
    out += `gramfarm_send_code_per_minute${labels({ result: 'paced', dc: 'all' })} ${rates.global.pacedPerMin}\n`
    for (const [dc, r] of Object.entries(rates.byDc)) {
      out += `gramfarm_send_code_per_minute${labels({ result: 'sent', dc })} ${r.sentPerMin}\n`
      out += `gramfarm_send_code_per_minute${labels({ result: 'paced', dc })} ${r.pacedPerMin}\n`
    }
    out += `${header('gramfarm_workers', 'gauge', 'Workers alive (their heartbeats in Redis)')}gramfarm_workers ${presence.alive.length}\n`
    out += `${header('gramfarm_worker_threads', 'gauge', 'piscina threads of the workers alive, summed')}gramfarm_worker_threads ${presence.alive.reduce((n, w) => n + w.threads, 0)}\n`
    if (presence.connected !== null)
      out += `${header('gramfarm_queue_connections', 'gauge', 'Worker connections BullMQ lists on the login queue')}gramfarm_queue_connections ${presence.connected}\n`
    out += `${header('gramfarm_except_ids', 'gauge', 'Accounts in the except_ids registry (authorized by this farm)')}gramfarm_except_ids ${exceptIds}\n`
    return out + (await this.registry.metrics())
  }
}

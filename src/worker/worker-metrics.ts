// One worker process's own metrics (prom-client), for `gramfarm worker --metrics-port`: the logins it finished,
// their durations and code waits, its steps, and Node's process metrics. Farm-wide figures are on
// `gramfarm serve`'s /metrics (from Redis); these say what this process did.
import { createServer, type Server } from 'node:http'
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { CODE_WAIT_BUCKETS, LOGIN_DURATION_BUCKETS, stateName } from '../queue/farm-stats.ts'

export class WorkerMetrics {
  readonly registry = new Registry()
  private readonly logins: Counter<'kind' | 'state'>
  private readonly duration: Histogram<'kind'>
  private readonly codeWait: Histogram
  private readonly steps: Counter<'outcome'>

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'gramfarm_worker_' })
    this.logins = new Counter({
      name: 'gramfarm_worker_logins_total',
      help: 'Logins this worker finished, by kind and final state',
      labelNames: ['kind', 'state'],
      registers: [this.registry],
    })
    this.duration = new Histogram({
      name: 'gramfarm_worker_login_duration_seconds',
      help: 'From enqueue to final state, logins this worker finished',
      labelNames: ['kind'],
      buckets: [...LOGIN_DURATION_BUCKETS],
      registers: [this.registry],
    })
    this.codeWait = new Histogram({
      name: 'gramfarm_worker_code_wait_seconds',
      help: 'How long logins waited for their login code',
      buckets: [...CODE_WAIT_BUCKETS],
      registers: [this.registry],
    })
    this.steps = new Counter({
      name: 'gramfarm_worker_steps_total',
      help: 'Login steps run, by outcome (final, wait, error)',
      labelNames: ['outcome'],
      registers: [this.registry],
    })
  }

  login(kind: string, state: string, seconds: number): void {
    this.logins.inc({ kind, state: stateName(state) })
    this.duration.observe({ kind }, seconds)
  }

  codeWaited(seconds: number): void {
    this.codeWait.observe(seconds)
  }

  step(outcome: 'final' | 'wait' | 'error'): void {
    this.steps.inc({ outcome })
  }
}

/** Serves `metrics` on GET /metrics at host:port (0: the OS picks); resolves with the server and its port. */
export async function serveWorkerMetrics(
  metrics: WorkerMetrics,
  port: number,
  host = '127.0.0.1',
): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
      return
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  return {
    server,
    port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

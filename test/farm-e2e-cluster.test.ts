// The farm on a real Redis Cluster: 3 masters from Debian's redis-server on loopback ports, cluster mode, no
// persistence (test/support/redis-cluster.ts). The same suites as on one Redis — the end-to-end onboarding, the
// worker SIGKILLed mid-login and the two coordinators with overlapping lists — with every process (coordinators,
// in-process and `gramfarm worker` child processes, the code provider) connected to the cluster: every account ends
// in the same state, and none is authorized twice.
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { Redis } from 'ioredis'
import { onboardingSuite } from './farm-e2e-onboarding-suite.ts'
import { resilienceSuite } from './farm-e2e-resilience-suite.ts'
import { startRedisCluster } from './support/redis-cluster.ts'

// At the top of the file, not in a before hook: the servers live until the file's last test.
const cluster = await startRedisCluster()
const redis = { cluster: { nodes: [...cluster.nodes] } }

onboardingSuite({ redis }, 'onboarding end to end on a Redis Cluster')
resilienceSuite({ farm: { redis }, redisOutage: false, title: 'resilience on a Redis Cluster' })

it('ran those farms on the cluster: its masters executed their scripts and BullMQ commands', async () => {
  let scripts = 0
  for (const s of cluster.servers) {
    const node = new Redis({ host: s.host, port: s.port, maxRetriesPerRequest: 1 })
    const stats = await node.info('commandstats')
    node.disconnect()
    for (const m of stats.matchAll(/^cmdstat_(?:eval|evalsha):calls=(\d+)/gm)) scripts += Number(m[1])
  }
  assert.ok(scripts > 200, `${scripts} scripts ran on the cluster`)
})

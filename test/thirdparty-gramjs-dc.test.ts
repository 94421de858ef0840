// Third-party proof: GramJS, a client we did not write, creates an auth key on our test DC and gets
// help.getConfig answered in its own layer (198).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestDc } from '../src/testdc/test-dc.ts'
import { gramjs, gramjsClientFor } from './support/gramjs-client.ts'

test('GramJS creates an auth key on the test DC and gets help.getConfig at layer 198', async () => {
  const dc = await startTestDc({ dcIds: [1, 2, 3] })
  const client = gramjsClientFor(dc, 2)
  try {
    await client.connect()
    const config = await client.invoke(new gramjs.Api.help.GetConfig())
    assert.equal(config['className'], 'Config')
    assert.equal(config['thisDc'], 2)
    const options = config['dcOptions'] as { id: number; port: number }[]
    assert.deepEqual(
      options.map((o) => [o.id, o.port]),
      dc.dcs.map((d) => [d.id, d.port]),
    )
    const keys = [...dc.dc(2).keys.values()]
    assert.equal(keys.length, 1, 'one auth key was created on DC 2')
    assert.equal(keys[0]!.layer, 198, 'the server answered in the layer GramJS announced')
    assert.deepEqual(
      Buffer.from(keys[0]!.authKey.key),
      client.session.authKey!.getKey(),
      'both sides hold the same auth key',
    )
  } finally {
    await client.disconnect().catch(() => {})
    await client.destroy().catch(() => {})
    await dc.stop()
  }
})

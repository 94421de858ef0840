// Starts bench/support/testdc-process.ts as a child process and reads where its DCs are.
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { RsaPublicKey } from '../../src/mtproto/crypto/rsa-keys.ts'

export interface RemoteTestDc {
  host: string
  portOf(dcId: number): number
  publicKey: RsaPublicKey
  stop(): void
}

export async function startRemoteTestDc(): Promise<RemoteTestDc> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', new URL('./testdc-process.ts', import.meta.url).pathname],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  )
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! })
    rl.once('line', (l) => {
      rl.close()
      resolve(l)
    })
    child.once('exit', (code) => reject(new Error(`test DC process exited with ${code}`)))
  })
  const info = JSON.parse(line) as {
    host: string
    ports: Record<string, number>
    publicKey: Record<string, string | number>
  }
  return {
    host: info.host,
    portOf: (id) => info.ports[String(id)]!,
    publicKey: {
      n: BigInt(info.publicKey['n']!),
      e: BigInt(info.publicKey['e']!),
      fingerprint: BigInt(info.publicKey['fingerprint']!),
      size: Number(info.publicKey['size']),
    },
    stop: () => {
      child.stdin!.end()
      child.kill('SIGTERM')
    },
  }
}

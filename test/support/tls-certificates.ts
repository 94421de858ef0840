// Throwaway TLS material for tests, made with the openssl CLI in a temporary directory: a CA, a server certificate
// it signs (for 127.0.0.1 and localhost), and an unrelated CA (a client trusting it must refuse the server).
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface TestCertificates {
  readonly caFile: string
  readonly serverCertFile: string
  readonly serverKeyFile: string
  /** A CA that signed nothing here. */
  readonly otherCaFile: string
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' })
}

/** Writes the certificates into `dir` (EC P-256 keys: quick to make). */
export function makeTestCertificates(dir: string): TestCertificates {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  for (const name of ['ca', 'other-ca'])
    openssl(
      [
        'req',
        '-x509',
        ...ec,
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.crt`,
        '-days',
        '2',
        '-subj',
        `/CN=gramfarm test ${name}`,
      ],
      dir,
    )
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir)
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-out',
      'server.crt',
      '-extfile',
      'server.ext',
    ],
    dir,
  )
  return {
    caFile: join(dir, 'ca.crt'),
    serverCertFile: join(dir, 'server.crt'),
    serverKeyFile: join(dir, 'server.key'),
    otherCaFile: join(dir, 'other-ca.crt'),
  }
}

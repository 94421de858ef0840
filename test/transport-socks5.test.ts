import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ProxyError } from '../src/mtproto/transport/errors.ts'
import { Socks5Handshake, ipv6ToBytes } from '../src/mtproto/transport/socks5-handshake.ts'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'))
const toHex = (b: Uint8Array | undefined): string => Buffer.from(b ?? new Uint8Array(0)).toString('hex')
const isProxyError = (reason: ProxyError['reason']) => (e: unknown) => e instanceof ProxyError && e.reason === reason

describe('SOCKS5 handshake (sans-io)', () => {
  it('no auth, IPv4 target, reply split byte by byte, leftover kept', () => {
    const hs = new Socks5Handshake({ host: '149.154.167.50', port: 443 })
    assert.equal(toHex(hs.start()), '050100')
    assert.equal(toHex(hs.push(hex('0500'))), '05010001' + '959aa732' + '01bb')
    const reply = hex('05000001 7f000001 1f90 cafe')
    let last: Uint8Array | undefined
    for (const byte of reply) last = hs.push(Uint8Array.of(byte)) ?? last
    assert.equal(hs.done, true)
    assert.equal(toHex(hs.takeLeftover()), 'cafe')
    assert.equal(last, undefined)
  })

  it('username/password, domain target', () => {
    const hs = new Socks5Handshake({ host: 'dc2.example', port: 80 }, { username: 'user', password: 'pässword' })
    assert.equal(toHex(hs.start()), '05020002')
    const auth = hs.push(hex('0502'))
    assert.equal(toHex(auth), '01' + '04' + toHex(Buffer.from('user')) + '09' + toHex(Buffer.from('pässword')))
    const connect = hs.push(hex('0100'))
    assert.equal(toHex(connect), '050100030b' + toHex(Buffer.from('dc2.example')) + '0050')
    hs.push(hex('0500000304 61626364 0050'))
    assert.equal(hs.done, true)
  })

  it('IPv6 targets, including :: and embedded IPv4', () => {
    assert.equal(toHex(ipv6ToBytes('2001:67c:4e8:f002::a')), '2001067c04e8f002000000000000000a')
    assert.equal(toHex(ipv6ToBytes('::1')), '00000000000000000000000000000001')
    assert.equal(toHex(ipv6ToBytes('::ffff:1.2.3.4')), '00000000000000000000ffff01020304')
    assert.equal(toHex(ipv6ToBytes('fe80::1%eth0')), 'fe800000000000000000000000000001')
    const hs = new Socks5Handshake({ host: '[2001:b28:f23d:f001::a]', port: 443 })
    hs.start()
    assert.equal(toHex(hs.push(hex('0500'))), '05010004' + '20010b28f23df001000000000000000a' + '01bb')
    hs.push(hex('05000004' + '00'.repeat(16) + '0000'))
    assert.equal(hs.done, true)
  })

  it('failures are typed ProxyErrors', () => {
    assert.throws(
      () => new Socks5Handshake({ host: '1.2.3.4', port: 1 }).push(hex('0400')),
      isProxyError('socks-protocol'),
    )
    assert.throws(
      () => new Socks5Handshake({ host: '1.2.3.4', port: 1 }).push(hex('05ff')),
      isProxyError('socks-no-acceptable-method'),
    )
    // The server picks user/pass although we offered none.
    assert.throws(
      () => new Socks5Handshake({ host: '1.2.3.4', port: 1 }).push(hex('0502')),
      isProxyError('socks-protocol'),
    )
    const auth = new Socks5Handshake({ host: '1.2.3.4', port: 1 }, { username: 'u', password: 'p' })
    auth.push(hex('0502'))
    assert.throws(() => auth.push(hex('0101')), isProxyError('socks-auth-rejected'))
    const refused = new Socks5Handshake({ host: '1.2.3.4', port: 1 })
    refused.push(hex('0500'))
    assert.throws(
      () => refused.push(hex('0505')),
      (e: unknown) => e instanceof ProxyError && e.reason === 'socks-connect-failed' && e.socksReply === 5,
    )
    assert.throws(() => new Socks5Handshake({ host: 'x'.repeat(256), port: 1 }), isProxyError('socks-bad-config'))
    assert.throws(() => new Socks5Handshake({ host: '1.2.3.4', port: 70000 }), isProxyError('socks-bad-config'))
    assert.throws(
      () => new Socks5Handshake({ host: '1.2.3.4', port: 1 }, { username: 'u'.repeat(256), password: '' }),
      isProxyError('socks-bad-config'),
    )
  })
})

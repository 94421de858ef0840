// Proxy URLs as operators write them (accounts files, worker options): `socks5://[user:pass@]host:port`,
// `mtproxy://host:port?secret=…`, or a `tg://proxy?server=&port=&secret=` / `https://t.me/proxy?…` link.
// Low in the house because the worker and the farm both read them.
import { bad, ok, type Checked } from '../../foundation/checked.ts'
import { parseMtproxySecret } from './mtproxy-secret.ts'
import type { ProxyConfig } from './transport-connection.ts'

/** `user:pass@host` → `user:***@host`: a proxy URL safe to show. */
export function redactProxyUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@').replace(/([?&]secret=)[^&]*/i, '$1***')
}

/**
 * `socks5://[user:pass@]host:port`, `mtproxy://host:port?secret=…`, or a `tg://proxy?server=&port=&secret=` /
 * `https://t.me/proxy?…` link.
 */
export function parseProxyUrl(input: string): Checked<ProxyConfig> {
  const text = input.trim()
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return bad(
      `proxy ${redactProxyUrl(text)} is not a URL (socks5://host:port, mtproxy://host:port?secret=…, tg://proxy?…)`,
    )
  }
  const port = (s: string | null): number | null =>
    s !== null && /^\d{1,5}$/.test(s) && +s > 0 && +s < 65536 ? +s : null
  if (url.protocol === 'socks5:' || url.protocol === 'socks5h:') {
    const p = port(url.port)
    if (url.hostname === '' || p === null) return bad(`proxy ${redactProxyUrl(text)} needs a host and a port`)
    const username = decodeURIComponent(url.username)
    const password = decodeURIComponent(url.password)
    if ((username === '') !== (password === ''))
      return bad('socks5 proxy needs both a username and a password, or neither')
    return ok({
      type: 'socks5',
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: p,
      ...(username !== '' ? { username, password } : {}),
    })
  }
  let host: string
  let p: number | null
  const secret = url.searchParams.get('secret')
  if (url.protocol === 'mtproxy:') {
    host = url.hostname
    p = port(url.port)
  } else if (
    url.protocol === 'tg:' ||
    (url.protocol === 'https:' && url.hostname === 't.me' && url.pathname === '/proxy')
  ) {
    if (url.protocol === 'tg:' && url.host !== 'proxy' && url.pathname !== 'proxy' && !text.startsWith('tg://proxy')) {
      return bad(`proxy ${redactProxyUrl(text)} is a tg:// link but not tg://proxy`)
    }
    host = url.searchParams.get('server') ?? ''
    p = port(url.searchParams.get('port'))
  } else {
    return bad(`proxy scheme ${url.protocol.replace(/:$/, '')} is not supported (socks5, mtproxy, tg://proxy)`)
  }
  if (host === '' || p === null) return bad(`proxy ${redactProxyUrl(text)} needs a host and a port`)
  if (secret === null || secret === '') return bad('MTProxy proxy needs a secret')
  try {
    parseMtproxySecret(secret)
  } catch (err) {
    return bad(`MTProxy secret is not usable: ${(err as Error).message}`) // ProxyError never quotes the secret
  }
  return ok({ type: 'mtproxy', host: host.replace(/^\[|\]$/g, ''), port: p, secret })
}

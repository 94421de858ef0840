// A login failure told in words for the report and the warn log: the cause chain, outermost first, each error
// as `Name: message` (an error's own code such as ECONNREFUSED kept), phones masked. A structured clone across
// the thread boundary would keep only built-in errors' names and drop the causes, so this is made in the thread.
import { maskPhone } from '../foundation/logger.ts'
import { causeChain, type ErrorShape } from './transient-failure.ts'

/** Phone numbers (and any long digit run: session keys carry the phone) masked, for logs, reports and failedReason. */
export function maskedMessage(message: string): string {
  return message.replace(/\+?\d{7,15}/g, (digits) => maskPhone(digits))
}

/** One error of a chain: `ProxyError: proxy refused [ECONNREFUSED]`. */
function describeOne(e: ErrorShape): string {
  const name = typeof e.name === 'string' && e.name !== '' ? e.name : 'Error'
  const message = typeof e.message === 'string' ? maskedMessage(e.message) : ''
  const code = typeof e.code === 'string' || typeof e.code === 'number' ? ` [${e.code}]` : ''
  return `${name}${message !== '' ? `: ${message}` : ''}${code}`
}

/** `err` and its causes (and an AggregateError's errors), outermost first. */
export function failureCauses(err: unknown): string[] {
  if (err === null || typeof err !== 'object') return [maskedMessage(String(err))]
  const out: string[] = []
  for (const shape of causeChain(err)) {
    out.push(describeOne(shape))
    if (Array.isArray(shape.errors)) {
      for (const x of shape.errors.slice(0, 3))
        if (x !== null && typeof x === 'object') out.push(describeOne(x as ErrorShape))
    }
  }
  return out
}

/** The report's `error`: the chain on one line (` <- ` between an error and its cause), at most `max` chars. */
export function failureText(err: unknown, max = 500): string {
  const text = failureCauses(err).join(' <- ')
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

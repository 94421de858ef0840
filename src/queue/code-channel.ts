// The code-provider channel: a worker that needs a login code (or a 2FA password) asks for it here, and anyone —
// an operator's `gramfarm code`, an SMS-service bridge, an external provider — delivers it through Redis. Its parts:
//   code-channel/contract.ts              the wire contract (messages; docs/provider-contract.md)
//   code-channel/channel-input.ts         what it accepts (phones, attempts, codes: ASCII digits or a word/phrase)
//   code-channel/code-provider-client.ts  the delivering side (store first, then announce; the request stream)
//   code-channel/code-inbox.ts            the waiting side (one subscriber per process, GETDEL, poll)
//   redis-keys.ts                         the names (CodeChannelNames)
export type { KnownCodeType } from '../auth/credential-provider.ts'
export { CodeChannelNames, DEFAULT_PREFIX } from './redis-keys.ts'
export * from './code-channel/contract.ts'
export { CodeChannelError, CodeTimeoutError, type CodeChannelErrorReason } from './code-channel/channel-errors.ts'
export { channelPhone, codeShapeOf, type CodeShape } from './code-channel/channel-input.ts'
export * from './code-channel/code-provider-client.ts'
export * from './code-channel/code-inbox.ts'

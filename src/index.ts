// `gramfarm`: the Client and what embedding it needs — its options' types, its errors, session storage engines and
// session strings, the MTProto layer underneath. The farm is `gramfarm/farm`, the local test DC `gramfarm/testdc`.
// Everything here is named on purpose: nothing is re-exported wholesale.

// The Client
export { Client, type ClientOptions, type StartOptions } from './auth/client.ts'
export type { CodeContext, CodeType, PasswordContext, PhoneContext, Provider } from './auth/credential-provider.ts'
export type { SignUpDetails } from './auth/flows/phone-login.ts'
export type { QrCodeInfo } from './auth/flows/qr-login.ts'
export {
  LoginError,
  AccountStateError,
  MissingCredentialError,
  type LoginFailure,
  type AccountState,
} from './auth/auth-errors.ts'

// Where and how it connects
export { PRODUCTION_DCS, PRODUCTION_DCS_IPV6, TEST_DCS, type DcAddress } from './mtproto/dc/dc-addresses.ts'
export { parseRsaPublicKey, rsaPublicKeyToPem, type RsaPublicKey } from './mtproto/crypto/rsa-keys.ts'
export type { ProxyConfig, Socks5ProxyConfig, MtproxyConfig } from './mtproto/transport/transport-connection.ts'
export type { FramingName } from './mtproto/transport/framing.ts'
export {
  testDcFromEnv,
  clientOptionsFor,
  readTestDcEndpoint,
  type TestDcEndpoint,
  type TestDcClientOptions,
} from './testdc/testdc-endpoint.ts'

// Sessions: the storage contract, its engines, session strings
export type {
  SessionStorage,
  SessionRecord,
  SessionPatch,
  SessionState,
  CachedPeer,
  PeerType,
  DeviceIdentity,
  ServerAddress,
} from './auth/storage/session-storage.ts'
export {
  SessionStorageError,
  SessionLockedError,
  SessionStringError,
  SessionFormatError,
  type SessionStorageErrorCode,
  type SessionStringErrorReason,
  type SessionLockOwner,
} from './auth/storage/errors.ts'
export { MemorySessionStorage } from './auth/storage/memory-storage.ts'
export {
  FileSessionStorage,
  SESSION_FILE_EXTENSION,
  type FileSessionStorageOptions,
} from './auth/storage/file-storage.ts'
export { StringSessionStorage } from './auth/storage/string-storage.ts'
export {
  RedisSessionStorage,
  DEFAULT_REDIS_KEY_PREFIX,
  type RedisSessionStorageOptions,
} from './auth/storage/redis-storage.ts'
export {
  importSessionString,
  exportSessionString,
  detectSessionStringFormat,
  type SessionStringFormat,
} from './auth/storage/session-string.ts'

// The MTProto layer, for calls the Client has no method for
export { RpcError } from './mtproto/rpc-error.ts'
export { MtprotoClient, type MtprotoClientOptions, type AuthKeyStore } from './mtproto/client/mtproto-client.ts'
export {
  DcConnection,
  AuthKeyUnknownError,
  ConnectionLostError,
  ReconnectGaveUpError,
  type AppIdentity,
} from './mtproto/dc/dc-connection.ts'
export { TimeoutError, type TimeoutPhase } from './mtproto/timeout-error.ts'
export { RequestTimeoutError, ResendLimitError } from './mtproto/session/mtproto-session.ts'
export { ConnectTimeoutError } from './mtproto/transport/errors.ts'
export {
  tlCodec,
  codecForLayer,
  API_LAYER,
  TlDecodeError,
  TlEncodeError,
  type tl,
  type mt,
  type TlValue,
} from './mtproto/tl/index.ts'

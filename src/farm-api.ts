// `gramfarm/farm`: run a farm from your own program. The coordinator enqueues accounts and follows runs; workers
// (BullMQ steps on piscina threads) log them in; codes and 2FA passwords arrive through the code channel (your
// provider uses CodeProviderClient; docs/provider-contract.md is the contract) or the bundled handler_api bridge; the
// except_ids registry keeps any account from being authorized twice. Everything meets in one Redis under one prefix.

// Coordinator: enqueue, follow, collect
export {
  Coordinator,
  type CoordinatorOptions,
  type EnqueueOptions,
  type EnqueuedRun,
  type FollowOptions,
  type RunAccount,
  type AccountResult,
  type RunOutcome,
  type RunProgress,
  type ProgressPhase,
  type RunAccountState,
} from './farm/coordinator.ts'
export { readRunStatus, type RunStatus, type RunStatusAccount } from './farm/run-status.ts'
export type { FinalState, LoginResult, LoginKind, AccountOptions } from './queue/login-job.ts'

// Accounts files (phones TXT/CSV, bot tokens, JSON with per-account options)
export {
  loadAccountsFile,
  parseAccounts,
  AccountsFileError,
  type AccountSpec,
  type UserAccountSpec,
  type BotAccountSpec,
  type QrAccountSpec,
  type AccountsFileFormat,
  type ParseAccountsOptions,
  type AccountsIssue,
  type AccountsIssueCode,
} from './farm/accounts-file.ts'

// Sessions the farm saved in Redis
export {
  exportSessions,
  listRedisSessions,
  deleteRedisSessions,
  type SessionRef,
  type ExportTarget,
  type ExportedSession,
  type ExportSummary,
  type SessionStringsFile,
} from './farm/session-export.ts'

// Workers
export { startFarmWorker, type FarmWorker, type FarmWorkerOptions } from './worker/farm-worker.ts'

// Code providers: the channel's client side, and the bundled handler_api (SMS-activation) bridge
export {
  CodeProviderClient,
  publishCode,
  publishPassword,
  CodeChannelError,
  CONTRACT_VERSION,
  type CodeProviderClientOptions,
  type ReadRequestsOptions,
  type DeliverCodeResult,
  type DeliverCodeStatus,
  type CodeRequestMessage,
  type CodeDeliveredMessage,
  type PasswordRequestMessage,
  type PasswordDeliveredMessage,
  type KnownCodeType,
  type NextCodeType,
} from './queue/code-channel.ts'
export {
  runHandlerApiBridge,
  HandlerApiProvider,
  SmsProviderError,
  HANDLER_API_PATH,
  type HandlerApiBridge,
  type HandlerApiBridgeOptions,
  type HandlerApiProviderOptions,
  type RentedNumber,
  type ActivationStatus,
} from './queue/providers/handler-api-provider.ts'

// No account authorized twice
export {
  ExceptIdsRegistry,
  ExceptIdsRegistryError,
  type ExceptIdsRegistryOptions,
  type ClaimStatus,
  type RecordAuthorizedResult,
} from './queue/except-ids-registry.ts'

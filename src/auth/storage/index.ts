// Session storage: the interface, its engines, and the session-string codecs.
export * from './errors.ts'
export * from './session-storage.ts'
export { MemorySessionStorage, MemoryPeerCache } from './memory-storage.ts'
export { FileSessionStorage, SESSION_FILE_EXTENSION, type FileSessionStorageOptions } from './file-storage.ts'
export { PYROGRAM_SCHEMA_VERSION } from './pyrogram-schema.ts'
export { StringSessionStorage } from './string-storage.ts'
export { RedisSessionStorage, DEFAULT_REDIS_KEY_PREFIX, type RedisSessionStorageOptions } from './redis-storage.ts'
export {
  SessionStringCodec,
  TelethonStringCodec,
  GramJsStringCodec,
  SESSION_STRING_CODECS,
  detectSessionStringFormat,
  importSessionString,
  exportSessionString,
  type SessionStringFormat,
  type StringCodec,
} from './session-string.ts'

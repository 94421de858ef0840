/** MTProto transports: framings, obfuscation, proxies, and client/server connections. */
export * from './errors.ts';
export * from './framing.ts';
export { FRAMINGS, getFraming, framingByObfuscationTag } from './framings.ts';
export { abridged, ABRIDGED_TAG, ABRIDGED_OBFUSCATION_TAG } from './abridged.ts';
export { intermediate, INTERMEDIATE_TAG, PADDED_INTERMEDIATE_TAG } from './intermediate.ts';
export { paddedIntermediate } from './padded-intermediate.ts';
export { full, FULL_OVERHEAD } from './full.ts';
export { crc32 } from './crc32.ts';
export * from './obfuscation.ts';
export * from './mtproxy-secret.ts';
export * from './socks5-handshake.ts';
export * from './client-transport-codec.ts';
export * from './server-transport-codec.ts';
export * from './transport-faults.ts';
export * from './transport-connection.ts';
export * from './transport-server-connection.ts';

export { startEmbeddedNode, DEFAULT_MAX_APPEND_SIZE, SERVER_VERSION } from './server';
export type { EmbeddedNode, EmbeddedNodeOptions } from './server';
export { esdbCommand, serveEmbeddedNode } from './cli';
export { DataDirLockedError } from './store';
export type { LockHolder, WriteFailure } from './store';
export { startEmbeddedNodeThread } from './node-thread';
export type { EmbeddedNodeThread } from './node-thread';

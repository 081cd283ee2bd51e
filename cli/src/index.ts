export { startEmbeddedPostgres, runningEmbeddedPort, embeddedUrl } from './runtime/embeddedPostgres.js';
export { startPrivateRedis } from './runtime/redisServer.js';
export { freePort } from './runtime/ports.js';
export { buildDeps, type OwnedDeps } from './runtime/stack.js';
export { workerHeapArgs } from './runtime/heap.js';

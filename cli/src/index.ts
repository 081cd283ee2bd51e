export { startEmbeddedPostgres, runningEmbeddedPort, embeddedUrl } from './runtime/embeddedPostgres.js';
export { startPrivateRedis } from './runtime/redisServer.js';
export { freePort } from './runtime/ports.js';
export { buildDeps, resolveInfra, type OwnedDeps, type Infra } from './runtime/stack.js';
export { ensureSystemBinary, which } from './runtime/systemDeps.js';
export { workerHeapArgs, DEFAULT_WORKER_MAX_HEAP_MB } from './runtime/heap.js';

import { recordApiKeyUse } from '@onramp/core';
import type { Processor } from './types.js';

/** Records when a key was last used, off the request path. Monotonic, so running twice is harmless. */
export const touchApiKey: Processor<'touch-api-key'> = async ({ apiKeyId, usedAt }, deps) => {
  await recordApiKeyUse(deps, apiKeyId, new Date(usedAt));
};

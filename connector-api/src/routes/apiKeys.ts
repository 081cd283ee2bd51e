import { z } from 'zod';
import { apiKeyJson, createApiKeyFor, createApiKeyInput, createdApiKeyJson, listApiKeysFor, revokeApiKeyFor } from '@onramp/core';
import { defineRoute } from '../http/route.js';

export const apiKeyRoutes = [
  defineRoute({
    method: 'get',
    path: '/api-keys',
    summary: 'API keys',
    description: "Live keys, newest first: the caller's own; owners see every key of the agency. Secrets are never shown again.",
    tags: ['API keys'],
    responses: { 200: { description: 'The keys', schema: z.object({ data: z.array(apiKeyJson) }) } },
    async handler({ deps, principal }) {
      return { status: 200, body: { data: await listApiKeysFor(deps, principal) } };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/api-keys',
    summary: 'Create an API key',
    description:
      "Any firm user creates keys for themselves; a key acts as its owner with their role (a member's key reads only). " +
      'The secret (`key`) is in this response only. An Idempotency-Key replay answers the same key with `key: null`: the secret is never stored.',
    tags: ['API keys'],
    body: createApiKeyInput,
    responses: { 201: { description: 'The key, with its secret shown once', schema: createdApiKeyJson } },
    async handler({ deps, principal, body }) {
      const created = await createApiKeyFor(deps, principal, body);
      return { status: 201, body: created, replayBody: { ...created, key: null } };
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/api-keys/:id',
    summary: 'Revoke an API key',
    description: 'Your own keys; owners revoke any key of the agency. The key answers 401 from the next request.',
    tags: ['API keys'],
    params: z.object({ id: z.string().describe('The key id (not its prefix)') }),
    responses: { 204: { description: 'Revoked' } },
    async handler({ deps, principal, params }) {
      await revokeApiKeyFor(deps, principal, params.id);
      return { status: 204 };
    },
  }),
];

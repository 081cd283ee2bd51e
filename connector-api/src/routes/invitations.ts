import { z } from 'zod';
import {
  BULK_MAX,
  BULK_MATCHING_MAX,
  bulkInvitationsMatching,
  bulkInvitations,
  getInvitationJson,
  inviteClient,
  inviteInput,
  invitationJson,
  invitationLink,
  listInvitationsJson,
  notFound,
  pageQuery,
  pageSchema,
  resendInvitation,
  revokeInvitation,
  clientJson,
  emailWarnings,
  projectRefJson,
} from '@onramp/core';
import { defineRoute } from '../http/route.js';

const idParams = z.object({ id: z.uuid('must be a UUID') });
const projectParams = z.object({ id: z.uuid('must be a UUID') });

// Advice that never refuses the invite: today a likely typo of a common mail domain (gmial.com -> gmail.com).
const inviteWarnings = z
  .array(z.object({ field: z.string(), suggestion: z.string() }))
  .describe(
    'Likely mistakes that did not stop the invite, e.g. [{"field":"email","suggestion":"ana@gmail.com"}] for ana@gmial.com; present only when there is one',
  )
  .optional();
const inviteResponse = invitationJson.extend({ result: z.enum(['invited', 'already_invited']), warnings: inviteWarnings });
const addedResponse = z.object({
  id: z.null(),
  status: z.literal('added'),
  result: z.enum(['added', 'already_member']),
  project: projectRefJson,
  client: clientJson.pick({ id: true, email: true, first_name: true, last_name: true, status: true }),
  warnings: inviteWarnings,
});

const listQuery = pageQuery.extend({
  status: z.enum(['pending', 'accepted', 'revoked', 'expired']).optional(),
  project_id: z.uuid('must be a UUID').optional(),
  email: z.string().trim().min(1).max(320).optional(),
  client_id: z.uuid('must be a UUID').optional(),
  q: z.string().trim().max(200).optional().describe("prefix of the client's email, first, last or full name (case-insensitive)"),
});

const matchingBody = z.object({
  action: z.enum(['resend', 'revoke']),
  filter: z
    .object({
      status: z.enum(['pending', 'accepted', 'revoked', 'expired']).optional(),
      project_id: z.uuid('must be a UUID').optional(),
      client_id: z.uuid('must be a UUID').optional(),
      email: z.string().trim().min(1).max(320).optional(),
      q: z.string().trim().max(200).optional(),
    })
    .default({}),
  through_seq: z.number().int().min(0).optional().describe('act only on invitations up to this seq (the newest when the list was shown)'),
  max: z.number().int().min(1).max(BULK_MATCHING_MAX).optional(),
});
const matchingResponse = z.object({
  action: z.enum(['resend', 'revoke']),
  attempted: z.number().int(),
  succeeded: z.number().int(),
  failed_by_code: z.record(z.string(), z.number().int()),
  failures: z.array(z.object({ id: z.string(), email: z.string(), code: z.string(), message: z.string() })),
  left_over: z.number().int(),
});

const bulkBody = z.object({
  action: z.enum(['resend', 'revoke']),
  // The count is checked by the use case so 501 ids answer 413 (not 422), before anything happens.
  ids: z.array(z.string().max(100)).min(1, 'must contain at least one id'),
});
const bulkResponse = z.object({
  results: z.array(
    z.object({ id: z.string(), ok: z.boolean(), status: z.string().optional(), error: z.object({ code: z.string(), message: z.string() }).optional() }),
  ),
});

export const invitationRoutes = [
  defineRoute({
    method: 'post',
    path: '/projects/:id/invitations',
    summary: 'Invite a client to a project',
    description:
      'New email: creates the client (invited) and a pending invitation, and emails the link (201). `warnings` flags a likely typo of a common mail domain (never refuses). A live pending invitation for this project and email: returned as is, no email (200). An active client: added to the project at once without an email (201, status "added"). A deactivated client: 409 (reactivate first). An email of a firm user: 409.',
    tags: ['Invitations'],
    params: projectParams,
    body: inviteInput,
    responses: {
      201: { description: 'Invited, or an active client added', schema: z.union([inviteResponse, addedResponse]) },
      200: { description: 'Already invited (no new email) or already a member', schema: z.union([inviteResponse, addedResponse]) },
    },
    async handler({ deps, principal, params, body }) {
      const res = await inviteClient(deps, principal, params.id, body);
      const warnings = emailWarnings(body.email);
      return { status: res.result === 'invited' || res.result === 'added' ? 201 : 200, body: warnings.length ? { ...res.body, warnings } : res.body };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/invitations',
    summary: 'List invitations across all projects (the pending-invitations dashboard)',
    tags: ['Invitations'],
    query: listQuery,
    responses: { 200: { description: 'Newest first', schema: pageSchema(invitationJson) } },
    async handler({ deps, principal, query }) {
      const page = await listInvitationsJson(
        deps.pool,
        principal.agencyId,
        { status: query.status, projectId: query.project_id, email: query.email, clientId: query.client_id, q: query.q },
        { limit: query.limit, cursor: query.cursor },
      );
      return { status: 200, body: page };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/invitations/bulk',
    summary: 'Resend or revoke many invitations',
    description: `At most ${BULK_MAX} ids (more: 413, nothing happens). Each id gets its own result; an unknown or other-agency id is a per-item not_found.`,
    tags: ['Invitations'],
    body: bulkBody,
    responses: { 200: { description: 'Per-item results', schema: bulkResponse } },
    async handler({ deps, principal, body }) {
      return { status: 200, body: { results: await bulkInvitations(deps, principal, body.action, body.ids) } };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/invitations/bulk/matching',
    summary: 'Resend or revoke every invitation matching a filter',
    description:
      `The filter of GET /v1/invitations; every match (at most ${BULK_MATCHING_MAX}, newest first) goes through the same per-item rules as /invitations/bulk (resend limits included). ` +
      'Answers a summary: how many were tried and succeeded, failures by code, the first 100 failures, and how many matches were left over.',
    tags: ['Invitations'],
    body: matchingBody,
    responses: { 200: { description: 'Summary', schema: matchingResponse } },
    async handler({ deps, principal, body }) {
      const f = body.filter;
      const s = await bulkInvitationsMatching(
        deps,
        principal,
        body.action,
        { status: f.status, projectId: f.project_id, clientId: f.client_id, email: f.email, q: f.q },
        { through: body.through_seq ?? null, ...(body.max ? { max: body.max } : {}) },
      );
      return {
        status: 200,
        body: { action: s.action, attempted: s.attempted, succeeded: s.succeeded, failed_by_code: s.failedByCode, failures: s.failures, left_over: s.leftOver },
      };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/invitations/:id',
    summary: 'Get an invitation',
    tags: ['Invitations'],
    params: idParams,
    responses: { 200: { description: 'The invitation', schema: invitationJson } },
    async handler({ deps, principal, params }) {
      const inv = await getInvitationJson(deps.pool, principal.agencyId, params.id);
      if (!inv) throw notFound('Invitation');
      return { status: 200, body: inv };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/invitations/:id/resend',
    summary: 'Resend an invitation with a new link',
    description:
      'Pending or expired only. The old link stops working; a new expiry; a new email. At most one resend a minute and 5 a day per invitation (configurable): 429 with Retry-After.',
    tags: ['Invitations'],
    params: idParams,
    responses: { 200: { description: 'The invitation, pending again', schema: invitationJson } },
    async handler({ deps, principal, params }) {
      return { status: 200, body: await resendInvitation(deps, principal, params.id) };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/invitations/:id/revoke',
    summary: 'Revoke a pending invitation',
    description: 'The link then shows the "no longer valid" page. Accepted invitations answer 409: remove the member instead.',
    tags: ['Invitations'],
    params: idParams,
    responses: { 200: { description: 'The revoked invitation', schema: invitationJson } },
    async handler({ deps, principal, params }) {
      return { status: 200, body: await revokeInvitation(deps, principal, params.id) };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/invitations/:id/link',
    summary: 'Copy the invite link of a pending invitation',
    tags: ['Invitations'],
    params: idParams,
    responses: { 200: { description: 'The live link', schema: z.object({ url: z.string(), expires_at: z.string() }) } },
    errors: { 409: 'The invitation is not pending: accepted, revoked or expired links are not copied (`invitation_not_pending`)' },
    async handler({ deps, principal, params }) {
      return { status: 200, body: await invitationLink(deps, principal, params.id) };
    },
  }),
];

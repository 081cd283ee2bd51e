import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Deps } from '../context.js';
import { withTransaction, type Queryable } from '../db/pool.js';
import { hashPassword, newPasswordSchema, PASSWORD_MAX, verifyPassword } from '../crypto/passwords.js';
import { hashToken, randomToken, safeEqual, seededTokens, TokenPurpose } from '../crypto/tokens.js';
import { AppError, notFound, validationError } from '../errors/AppError.js';
import { parseOrThrow } from '../errors/fromZod.js';
import { toUserJson, type UserJson } from '../read/admin.js';
import { appendEvent } from '../sql/events.js';
import * as users from '../sql/firmUsers.js';
import type { FirmRole } from '../sql/firmUsers.js';
import * as invites from '../sql/teammateInvitations.js';
import { insertConsoleSession } from '../sql/sessions.js';
import { brandingOf, type AgencyBranding } from './accept.js';
import type { Principal } from './apiKeys.js';
import { CONSOLE_SESSION_HOURS } from './consoleSessions.js';
import { takeLoginAttempt, type NewSession } from './clientSessions.js';
import { enqueueEmails, queueEmailTx } from './emails.js';
import { emailAddress, personName } from './inputs.js';
import { requireInviter } from './invitations.js';
import { isUuid } from './templates.js';
import { withAuthChange } from './principalCache.js';

/**
 * The team: firm users with roles (owner, admin, member), invited by a teammate over a single-use link.
 * The rules, one place for every door:
 * - owners and admins invite teammates and deactivate members; members read the team;
 * - only owners change roles, and only owners deactivate admins and owners;
 * - an agency always keeps at least one active owner (409 otherwise), checked under a lock on the owner
 *   rows so two concurrent demotions cannot both pass;
 * - a deactivated user's console sessions end and their API keys stop at once (both are checked against
 *   the user's status on every request); their invitations keep `created_by`;
 * - an address is either a teammate or a client of the agency, never both (409 both ways).
 */

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export const inviteTeammateInput = z.object({
  email: emailAddress.describe("The teammate's work email"),
  role: z.enum(['admin', 'member'], { error: 'must be "admin" or "member"' }).describe('`admin` writes; `member` reads only'),
  first_name: personName.optional().describe('Optional: the teammate can set it when they accept'),
  last_name: personName.optional(),
});

export const updateUserInput = z
  .object({
    first_name: personName.optional(),
    last_name: personName.optional(),
    role: z.enum(['owner', 'admin', 'member'], { error: 'must be "owner", "admin" or "member"' }).optional().describe('Owners only'),
  })
  .strict()
  .refine((v) => v.first_name !== undefined || v.last_name !== undefined || v.role !== undefined, {
    message: 'give first_name, last_name or role',
    path: ['(body)'],
  });

export const updateMeInput = z
  .object({ first_name: personName.optional(), last_name: personName.optional() })
  .strict()
  .refine((v) => v.first_name !== undefined || v.last_name !== undefined, { message: 'give first_name, last_name or both', path: ['(body)'] });

export const changePasswordInput = z.object({
  current_password: z.string({ error: 'is required' }).min(1, 'is required').max(PASSWORD_MAX, `must be at most ${PASSWORD_MAX} characters`),
  new_password: newPasswordSchema,
});

export const acceptTeammateInput = z.object({
  token: z.string(),
  first_name: personName,
  last_name: personName,
  password: newPasswordSchema,
});

async function usersJson(db: Queryable, agencyId: string, rows: users.FirmUserRow[]): Promise<UserJson[]> {
  const latest = await invites.latestTeammateInvitations(
    db,
    agencyId,
    rows.map((r) => r.id),
  );
  const inviterIds = [...new Set([...latest.values()].map((i) => i.created_by).filter((x): x is string => x !== null))];
  const inviters = new Map<string, { id: string; email: string; name: string | null }>();
  if (inviterIds.length) {
    const found = await users.findFirmUsersByIds(db, agencyId, inviterIds);
    for (const f of found) inviters.set(f.id, f);
  }
  return rows.map((r) => toUserJson(r, latest.get(r.id), inviters));
}

export async function listUsers(deps: Pick<Deps, 'pool'>, principal: Principal): Promise<UserJson[]> {
  return usersJson(deps.pool, principal.agencyId, await users.listFirmUsers(deps.pool, principal.agencyId));
}

export async function getUser(deps: Pick<Deps, 'pool'>, principal: Principal, id: string): Promise<UserJson> {
  const row = isUuid(id) ? await users.getFirmUser(deps.pool, principal.agencyId, id) : null;
  if (!row) throw notFound('User');
  return (await usersJson(deps.pool, principal.agencyId, [row]))[0]!;
}

/** One lock per (agency, address) so a teammate invite and a client invite of one address cannot both pass their checks. */
async function lockAddress(tx: Queryable, agencyId: string, email: string): Promise<void> {
  await users.lockAgencyAddress(tx, agencyId, email);
}

function newTeammateLink(appSecret: string): { token: string; hash: Buffer; ciphertext: Buffer } {
  const { token, sealed } = seededTokens(appSecret)(randomBytes(32));
  return { token, hash: hashToken(appSecret, token, TokenPurpose.teammateInvitation), ciphertext: sealed };
}

export interface InviteTeammateResult {
  created: boolean;
  user: UserJson;
}

/**
 * Invite a teammate: the firm user exists at once (status `invited`, no password, so they cannot sign in),
 * with a pending teammate invitation and its email in the outbox, in one transaction. Inviting an address
 * that is already invited returns that user and sends nothing (resend is its own action); an address that
 * already is an active or deactivated teammate, or a client of the agency, is a 409.
 */
export async function inviteTeammate(deps: Pick<Deps, 'pool' | 'appSecret' | 'jobs'>, principal: Principal, raw: unknown): Promise<InviteTeammateResult> {
  requireInviter(principal, 'invite teammates');
  const input = parseOrThrow(inviteTeammateInput, raw);
  const { result, emailIds } = await withTransaction(deps.pool, async (tx) => {
    await lockAddress(tx, principal.agencyId, input.email);
    if (await users.isClientEmail(tx, principal.agencyId, input.email)) {
      throw new AppError('email_belongs_to_client', 'Email belongs to a client', {
        detail: `${input.email} is a client of this agency. A teammate needs a different email address.`,
        errors: [{ field: 'email', message: 'belongs to a client of this agency; a teammate needs a different address' }],
      });
    }
    const existing = await users.lockFirmUserByEmail(tx, principal.agencyId, input.email);
    if (existing) {
      if (existing.status === 'invited') {
        const row = (await users.getFirmUser(tx, principal.agencyId, existing.id))!;
        return { result: { created: false, user: (await usersJson(tx, principal.agencyId, [row]))[0]! }, emailIds: [] };
      }
      throw new AppError('conflict', 'Already a teammate', {
        detail: `${input.email} is already ${existing.status === 'deactivated' ? 'a deactivated' : 'a'} member of this agency's team.`,
        errors: [{ field: 'email', message: 'is already on the team' }],
        extra: { user_id: existing.id },
      });
    }
    const user = await users.insertFirmUser(tx, {
      agencyId: principal.agencyId,
      email: input.email,
      firstName: input.first_name ?? null,
      lastName: input.last_name ?? null,
      role: input.role,
      status: 'invited',
    });
    const link = newTeammateLink(deps.appSecret);
    const inv = await invites.insertTeammateInvitation(tx, {
      agencyId: principal.agencyId,
      userId: user.id,
      email: user.email,
      role: input.role,
      createdBy: principal.userId,
      tokenHash: link.hash,
      tokenCiphertext: link.ciphertext,
    });
    const emailId = await queueEmailTx(tx, {
      agencyId: principal.agencyId,
      kind: 'teammate_invitation',
      to: user.email,
      firmUserId: user.id,
      tokenCiphertext: link.ciphertext,
    });
    await appendEvent(tx, {
      agencyId: principal.agencyId,
      type: 'user.invited',
      subjectId: user.id,
      actorId: principal.userId,
      data: { email: user.email, role: input.role, invitation_id: inv.id },
    });
    return { result: { created: true, user: (await usersJson(tx, principal.agencyId, [user]))[0]! }, emailIds: [emailId] };
  });
  await enqueueEmails(deps, emailIds);
  return result;
}

/**
 * A new link for a teammate who has not joined yet (pending or expired invitation): the old link stops
 * working, the expiry is counted again from the agency's current setting, and a new email goes out. At most
 * one resend per RESEND_MIN_INTERVAL_SECONDS, as for client invitations.
 */
export async function resendTeammateInvitation(
  deps: Pick<Deps, 'pool' | 'appSecret' | 'jobs' | 'config'>,
  principal: Principal,
  id: string,
): Promise<UserJson> {
  requireInviter(principal, 'resend teammate invitations');
  if (!isUuid(id)) throw notFound('User');
  const { result, emailIds } = await withTransaction(deps.pool, async (tx) => {
    const user = await users.getFirmUser(tx, principal.agencyId, id, { forUpdate: true });
    if (!user) throw notFound('User');
    if (user.status !== 'invited') {
      throw new AppError('conflict', 'Not an invited teammate', {
        detail: `This user is ${user.status}; only a teammate who has not joined yet can be sent a new link.`,
      });
    }
    const latest = (await invites.latestTeammateInvitations(tx, principal.agencyId, [id])).get(id);
    if (latest && latest.status === 'pending' && Date.now() - latest.last_sent_at.getTime() < deps.config.limits.resendMinIntervalSeconds * 1000) {
      const retryAfter = Math.max(1, Math.ceil((latest.last_sent_at.getTime() + deps.config.limits.resendMinIntervalSeconds * 1000 - Date.now()) / 1000));
      throw new AppError('rate_limited', 'Resent too recently', { detail: `This invitation was sent moments ago; try again in ${retryAfter} s.`, retryAfter });
    }
    const link = newTeammateLink(deps.appSecret);
    let inv = await invites.rotateTeammateInvitation(tx, principal.agencyId, id, { tokenHash: link.hash, tokenCiphertext: link.ciphertext });
    if (!inv) {
      inv = await invites.insertTeammateInvitation(tx, {
        agencyId: principal.agencyId,
        userId: id,
        email: user.email,
        role: user.role === 'owner' ? 'admin' : user.role,
        createdBy: principal.userId,
        tokenHash: link.hash,
        tokenCiphertext: link.ciphertext,
      });
    }
    const emailId = await queueEmailTx(tx, {
      agencyId: principal.agencyId,
      kind: 'teammate_invitation',
      to: user.email,
      firmUserId: id,
      tokenCiphertext: link.ciphertext,
    });
    await appendEvent(tx, {
      agencyId: principal.agencyId,
      type: 'user.invitation_resent',
      subjectId: id,
      actorId: principal.userId,
      data: { invitation_id: inv.id },
    });
    return { result: (await usersJson(tx, principal.agencyId, [user]))[0]!, emailIds: [emailId] };
  });
  await enqueueEmails(deps, emailIds);
  return result;
}

const lastOwner = () =>
  new AppError('conflict', 'The agency needs an active owner', {
    detail: 'This is the last active owner of the agency. Make another teammate an owner first.',
    errors: [{ field: 'role', message: 'the agency must keep at least one active owner' }],
  });

const ownersOnly = (what: string) => new AppError('forbidden', 'Forbidden', { detail: `Only agency owners can ${what}.` });

/** Names (owners and admins) and roles (owners only) of a teammate. */
export async function updateUser(deps: Pick<Deps, 'pool' | 'principals'>, principal: Principal, id: string, raw: unknown): Promise<UserJson> {
  requireInviter(principal, 'change teammates');
  if (!isUuid(id)) throw notFound('User');
  const input = parseOrThrow(updateUserInput, raw);
  return withAuthChange(deps, principal.agencyId, async (tx) => {
    const owners = await users.lockActiveOwners(tx, principal.agencyId);
    const target = await users.getFirmUser(tx, principal.agencyId, id, { forUpdate: true });
    if (!target) throw notFound('User');
    if (target.status === 'deactivated') throw new AppError('conflict', 'User is deactivated', { detail: 'A deactivated teammate cannot be changed.' });
    const roleChange = input.role !== undefined && input.role !== target.role ? input.role : undefined;
    if (roleChange !== undefined) {
      if (principal.role !== 'owner') throw ownersOnly('change roles');
      if (roleChange === 'owner' && target.status !== 'active') {
        throw validationError([{ field: 'role', message: 'an invited teammate can become an owner only after joining' }]);
      }
      if (target.role === 'owner' && owners.filter((o) => o !== target.id).length === 0) throw lastOwner();
    }
    const after = (await users.updateFirmUser(tx, principal.agencyId, id, {
      ...(input.first_name !== undefined ? { firstName: input.first_name } : {}),
      ...(input.last_name !== undefined ? { lastName: input.last_name } : {}),
      ...(roleChange !== undefined ? { role: roleChange } : {}),
    }))!;
    if (roleChange !== undefined && target.status === 'invited') {
      await invites.setPendingTeammateInvitationRole(tx, principal.agencyId, id, roleChange);
    }
    const fields = [
      ...(input.first_name !== undefined && input.first_name !== target.first_name ? (['first_name'] as const) : []),
      ...(input.last_name !== undefined && input.last_name !== target.last_name ? (['last_name'] as const) : []),
      ...(roleChange !== undefined ? (['role'] as const) : []),
    ];
    if (fields.length) {
      await appendEvent(tx, {
        agencyId: principal.agencyId,
        type: 'user.updated',
        subjectId: id,
        actorId: principal.userId,
        data: { fields, ...(roleChange !== undefined ? { role: { from: target.role, to: roleChange } } : {}) },
      });
    }
    return (await usersJson(tx, principal.agencyId, [after]))[0]!;
  });
}

/**
 * Deactivate a teammate: their console sessions end now, their API keys stop answering (401) from the next
 * request, a pending teammate invitation is revoked. The row stays, so their invitations keep `created_by`;
 * when a client accepts one of those, the agency's active owners are told instead. Owners and admins
 * deactivate members; only owners deactivate admins and owners; the last active owner cannot go.
 * Deactivating someone already deactivated changes nothing.
 */
export async function deactivateUser(deps: Pick<Deps, 'pool' | 'principals'>, principal: Principal, id: string): Promise<UserJson> {
  requireInviter(principal, 'deactivate teammates');
  if (!isUuid(id)) throw notFound('User');
  return withAuthChange(deps, principal.agencyId, async (tx) => {
    const owners = await users.lockActiveOwners(tx, principal.agencyId);
    const target = await users.getFirmUser(tx, principal.agencyId, id, { forUpdate: true });
    if (!target) throw notFound('User');
    if (target.status === 'deactivated') return (await usersJson(tx, principal.agencyId, [target]))[0]!;
    if (target.role !== 'member' && principal.role !== 'owner') throw ownersOnly(`deactivate ${target.role}s`);
    if (target.role === 'owner' && target.status === 'active' && owners.filter((o) => o !== target.id).length === 0) throw lastOwner();
    const after = (await users.deactivateFirmUser(tx, principal.agencyId, id))!;
    await invites.revokeTeammateInvitations(tx, principal.agencyId, id);
    await appendEvent(tx, {
      agencyId: principal.agencyId,
      type: 'user.deactivated',
      subjectId: id,
      actorId: principal.userId,
      data: { email: target.email, role: target.role },
    });
    return (await usersJson(tx, principal.agencyId, [after]))[0]!;
  });
}

/** Any firm user sets their own name. */
export async function updateMe(deps: Pick<Deps, 'pool' | 'principals'>, principal: Principal, raw: unknown): Promise<UserJson> {
  const input = parseOrThrow(updateMeInput, raw);
  return withAuthChange(deps, principal.agencyId, async (tx) => {
    const before = await users.getFirmUser(tx, principal.agencyId, principal.userId, { forUpdate: true });
    if (!before) throw notFound('User');
    const after = (await users.updateFirmUser(tx, principal.agencyId, principal.userId, {
      ...(input.first_name !== undefined ? { firstName: input.first_name } : {}),
      ...(input.last_name !== undefined ? { lastName: input.last_name } : {}),
    }))!;
    if (after.name !== before.name) {
      await appendEvent(tx, {
        agencyId: principal.agencyId,
        type: 'user.updated',
        subjectId: principal.userId,
        actorId: principal.userId,
        data: { fields: ['name'] },
      });
    }
    return (await usersJson(tx, principal.agencyId, [after]))[0]!;
  });
}

/**
 * Change one's own console password: the current one is required (a stolen API key or an unattended
 * browser must not be enough to take the account) and attempts share the console sign-in budget per
 * address. Every other console session of the user ends; the one making the change (if any) stays.
 */
export async function changeMyPassword(
  deps: Pick<Deps, 'pool' | 'redis' | 'config' | 'appSecret'>,
  principal: Principal,
  raw: unknown,
  currentSessionToken: string | null = null,
): Promise<void> {
  const input = parseOrThrow(changePasswordInput, raw);
  await takeLoginAttempt(deps, principal.userEmail.trim(), 'console-login');
  const stored = await users.getFirmUserPasswordHash(deps.pool, principal.agencyId, principal.userId);
  if (!stored || !(await verifyPassword(stored, input.current_password))) {
    throw validationError([
      { field: 'current_password', message: stored ? 'is incorrect' : 'is not set; ask an owner or the operator to set a first password' },
    ]);
  }
  const hash = await hashPassword(input.new_password);
  await withTransaction(deps.pool, async (tx) => {
    await users.setFirmUserPasswordHash(tx, principal.agencyId, principal.userId, hash);
    const keep = currentSessionToken ? hashToken(deps.appSecret, currentSessionToken, TokenPurpose.consoleSession) : null;
    await users.revokeConsoleSessions(tx, principal.agencyId, principal.userId, keep);
    await appendEvent(tx, {
      agencyId: principal.agencyId,
      type: 'user.updated',
      subjectId: principal.userId,
      actorId: principal.userId,
      data: { fields: ['password'] },
    });
  });
}

/** What the teammate's accept page may show. */
export interface TeammateInvitationView {
  agency: AgencyBranding;
  email: string;
  role: Exclude<FirmRole, 'owner'>;
  inviterName: string | null;
  firstName: string | null;
  lastName: string | null;
  expiresAt: Date;
}

export type TeammateInvitationLookup = { valid: true; view: TeammateInvitationView } | { valid: false; agency: AgencyBranding | null };

/** Read-only: opening the link never consumes it (mail scanners pre-open links). */
export async function lookupTeammateInvitation(deps: Pick<Deps, 'pool' | 'appSecret'>, token: string): Promise<TeammateInvitationLookup> {
  if (!TOKEN_SHAPE.test(token)) return { valid: false, agency: null };
  const hash = hashToken(deps.appSecret, token, TokenPurpose.teammateInvitation);
  const row = await invites.findTeammateInvitationByHash(deps.pool, hash);
  if (!row || !row.token_hash || !safeEqual(row.token_hash, hash)) return { valid: false, agency: null };
  const agency = brandingOf(row);
  if (!row.live) return { valid: false, agency };
  return {
    valid: true,
    view: {
      agency,
      email: row.email,
      role: row.role,
      inviterName: row.inviter_name,
      firstName: row.user_first_name,
      lastName: row.user_last_name,
      expiresAt: row.expires_at,
    },
  };
}

export const teammateInvitationGone = (): AppError =>
  new AppError('gone', 'Invitation no longer valid', { detail: 'This invitation link is no longer valid. Ask your agency for a new one.' });

/**
 * The teammate sets their name and password over the emailed link and is signed in to the console. The
 * link works once: a compare-and-set from pending, so of two concurrent accepts exactly one wins.
 */
export async function acceptTeammateInvitation(
  deps: Pick<Deps, 'pool' | 'appSecret'>,
  raw: unknown,
): Promise<NewSession & { userId: string; agencyId: string }> {
  const input = parseOrThrow(acceptTeammateInput, raw);
  if (!TOKEN_SHAPE.test(input.token)) throw teammateInvitationGone();
  const hash = hashToken(deps.appSecret, input.token, TokenPurpose.teammateInvitation);
  const found = await invites.findTeammateInvitationByHash(deps.pool, hash);
  // The unique index found the row; the constant-time compare is what decides.
  if (!found || !found.token_hash || !safeEqual(found.token_hash, hash) || !found.live) throw teammateInvitationGone();
  const passwordHash = await hashPassword(input.password);
  return withTransaction(deps.pool, async (tx) => {
    if (!(await invites.markTeammateInvitationAccepted(tx, found.id, hash))) throw teammateInvitationGone();
    const joined = await users.activateInvitedFirmUser(tx, found.agency_id, found.user_id, {
      firstName: input.first_name,
      lastName: input.last_name,
      passwordHash,
    });
    if (!joined) throw teammateInvitationGone();
    await appendEvent(tx, {
      agencyId: found.agency_id,
      type: 'user.joined',
      subjectId: found.user_id,
      actorId: found.user_id,
      data: { invitation_id: found.id, role: found.role },
    });
    const token = randomToken();
    const session = await insertConsoleSession(tx, {
      tokenHash: hashToken(deps.appSecret, token, TokenPurpose.consoleSession),
      userId: found.user_id,
      agencyId: found.agency_id,
      hours: CONSOLE_SESSION_HOURS,
    });
    return { token, expiresAt: session.expires_at, userId: found.user_id, agencyId: found.agency_id };
  });
}

import { z } from 'zod';
import type { Pool } from '../db/pool.js';
import { withTransaction } from '../db/pool.js';
import { AppError } from '../errors/AppError.js';
import { parseOrThrow } from '../errors/fromZod.js';
import { findAgencyIdsByRef, getAgency, insertAgency, type AgencyRow } from '../sql/agencies.js';
import { findFirmUsersByEmail, findFirstActiveOwner, insertFirmUser, type FirmUserRow } from '../sql/firmUsers.js';
import { insertTemplateWithTasks } from '../sql/templates.js';
import { issueApiKey, type Principal } from './apiKeys.js';

export const defaultTemplate = {
  name: 'Client onboarding',
  tasks: [
    { title: 'Welcome call', description: 'A 30-minute call to meet the team and agree on goals.' },
    { title: 'Share brand assets', description: 'Upload logos, fonts and brand guidelines.' },
    { title: 'Grant account access', description: 'Give us access to the tools we will work in.' },
    { title: 'Review the project plan', description: 'Read the plan and approve it or leave comments.' },
  ],
};

export const createAgencyInput = z.object({
  name: z.string().trim().min(1, 'is required').max(200, 'must be at most 200 characters'),
  ownerEmail: z.email('must be a valid email address').trim(),
  ownerName: z.string().trim().max(200).optional(),
});

export interface CreatedAgency {
  agency: AgencyRow;
  owner: FirmUserRow;
  apiKey: string;
  apiKeyPrefix: string;
}

/** A new agency starts with its owner, a first API key for that owner, and the default template. */
export async function createAgency(pool: Pool, raw: z.input<typeof createAgencyInput>): Promise<CreatedAgency> {
  const input = parseOrThrow(createAgencyInput, raw);
  return withTransaction(pool, async (tx) => {
    const agency = await insertAgency(tx, { name: input.name });
    const owner = await insertFirmUser(tx, {
      agencyId: agency.id,
      email: input.ownerEmail,
      name: input.ownerName ?? null,
      role: 'owner',
    });
    const key = await issueApiKey(tx, { agencyId: agency.id, userId: owner.id, name: 'created with the agency' });
    await insertTemplateWithTasks(tx, { agencyId: agency.id, ...defaultTemplate });
    return { agency, owner, apiKey: key.key, apiKeyPrefix: key.prefix };
  });
}

/** The operator CLI names a firm user by email; ambiguity across agencies is an error, not a guess. */
export async function findSingleFirmUserByEmail(pool: Pool, email: string): Promise<FirmUserRow> {
  const users = await findFirmUsersByEmail(pool, email);
  if (users.length === 0) throw new AppError('not_found', `No firm user with email ${email}`);
  if (users.length > 1) {
    throw new AppError('conflict', `${users.length} firm users share the email ${email} in different agencies`);
  }
  return users[0]!;
}

/**
 * The operator CLI names an agency by id or by its exact name (case-insensitive); a name shared by several
 * agencies is an error, not a guess.
 */
export async function findAgencyForOperator(pool: Pool, ref: string): Promise<AgencyRow> {
  const trimmed = ref.trim();
  const isId = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(trimmed);
  const rows = await findAgencyIdsByRef(pool, trimmed, isId);
  if (rows.length === 0) throw new AppError('not_found', `No agency ${isId ? 'with id' : 'named'} ${trimmed}`);
  if (rows.length > 1) throw new AppError('conflict', `Several agencies are named ${trimmed}; give the agency id instead`);
  return (await getAgency(pool, rows[0]!.id))!;
}

/** The CLI acts in an agency as its first active owner (the inviter shown in emails and `created_by`). */
export async function operatorPrincipal(pool: Pool, agency: AgencyRow): Promise<Principal> {
  const owner = await findFirstActiveOwner(pool, agency.id);
  if (!owner) throw new AppError('conflict', `Agency ${agency.name} has no active owner`);
  return { apiKeyId: '', agencyId: agency.id, agencyName: agency.name, userId: owner.id, userEmail: owner.email, userName: owner.name, role: 'owner' };
}

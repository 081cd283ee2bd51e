import type { Queryable } from '../db/pool.js';
import { insertEventsSql } from '../events/catalog.js';
import { clientColumns, type ClientRow } from './read/clients.js';

export type ClientStatus = 'inactive' | 'invited' | 'active' | 'deactivated';

/** A LIKE pattern matching what starts with `prefix`, its own %, _ and \ taken literally. */
export function likePrefix(prefix: string): string {
  return `${prefix.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Spaces trimmed and collapsed; an empty search is no search. */
export function normaliseSearch(q: string | undefined): string | undefined {
  const s = q?.trim().replace(/\s+/g, ' ');
  return s ? s : undefined;
}

/**
 * The condition "client `alias` matches the search `q`": its email, first name or last name starts with
 * q, case-insensitively; "ada love" matches Ada Lovelace by her full name. Each branch is a prefix of one
 * column indexed for it (migration 0110), so PostgreSQL can answer with a bitmap of index scans instead of
 * reading every client of the agency. `push` adds a parameter and returns its placeholder.
 */
export function clientSearchSql(alias: string, q: string, push: (value: unknown) => string): string {
  const search = normaliseSearch(q)!;
  const space = search.indexOf(' ');
  if (space > 0) {
    // An email has no space: this is a full name. The first word narrows by the first-name index.
    const first = push(likePrefix(search.slice(0, space)));
    const full = push(likePrefix(search));
    return `(lower(${alias}.first_name) like ${first} and lower(${alias}.first_name || ' ' || ${alias}.last_name) like ${full})`;
  }
  const p = push(likePrefix(search));
  return `(${alias}.email_normalized like ${p} or lower(${alias}.first_name) like ${p} or lower(${alias}.last_name) like ${p})`;
}

export interface InsertedClient {
  id: string;
  seq: number;
  agency_id: string;
  email: string;
  first_name: string;
  last_name: string;
  status: ClientStatus;
  created_at: Date;
}

/**
 * A new client, status inactive (added, not invited), with its client.created event, in one statement.
 * Nothing is written (null) when the address is already a client of the agency or one of its firm users.
 */
export async function insertInactiveClient(
  db: Queryable,
  input: { agencyId: string; actorId: string; email: string; firstName: string; lastName: string },
): Promise<InsertedClient | null> {
  const { rows } = await db.query<InsertedClient>(
    `with c as (
       insert into clients (agency_id, email, first_name, last_name, status)
       select $1, $2, $3, $4, 'inactive'
        where not exists (select 1 from firm_users where agency_id = $1 and email_normalized = lower(btrim($2)))
       on conflict (agency_id, email_normalized) do nothing
       returning seq, id, agency_id, email, first_name, last_name, status, created_at
     ), ev as (
       ${insertEventsSql('client.created', { agencyId: '$1', subjectId: 'c.id', actorId: '$5', data: { client_id: 'c.id', email: 'c.email', status: 'c.status' }, from: 'from c' })}
     )
     select * from c`,
    [input.agencyId, input.email, input.firstName, input.lastName, input.actorId],
  );
  return rows[0] ?? null;
}

/** Why an address could not be added: it is a firm user's, or already a client (which one). */
export async function findAddressOwner(
  db: Queryable,
  agencyId: string,
  email: string,
): Promise<{ kind: 'firm_user' } | { kind: 'client'; id: string; status: ClientStatus } | null> {
  const { rows } = await db.query<{ kind: 'firm_user' | 'client'; id: string; status: ClientStatus | null }>(
    `select 'client' as kind, id, status from clients where agency_id = $1 and email_normalized = lower(btrim($2))
     union all
     select 'firm_user', id, null from firm_users where agency_id = $1 and email_normalized = lower(btrim($2))`,
    [agencyId, email],
  );
  const firm = rows.find((r) => r.kind === 'firm_user');
  if (firm) return { kind: 'firm_user' };
  const client = rows[0];
  return client ? { kind: 'client', id: client.id, status: client.status! } : null;
}

/**
 * The agency's clients among ids (others are left out): email and names, for actions that take client ids.
 * By primary key alone, the agency checked on the rows found (OFFSET 0 keeps the check out of the lookup):
 * with `agency_id = $1` beside the ids, a generic plan read all the agency's clients (no statistics on
 * agency_id, migration 0097).
 */
export async function clientsByIds(
  db: Queryable,
  agencyId: string,
  ids: string[],
): Promise<Array<{ id: string; email: string; first_name: string; last_name: string; status: ClientStatus }>> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<{ id: string; email: string; first_name: string; last_name: string; status: ClientStatus }>(
    `select id, email, first_name, last_name, status
       from (select id, email, first_name, last_name, status, agency_id from clients where id = any($2::uuid[]) offset 0) c
      where agency_id = $1`,
    [agencyId, ids],
  );
  return rows;
}

/** The client row locked for this transaction, or null. */
export async function lockClientRow(
  db: Queryable,
  agencyId: string,
  id: string,
): Promise<{ id: string; email: string; first_name: string; last_name: string; status: ClientStatus } | null> {
  const { rows } = await db.query<{ id: string; email: string; first_name: string; last_name: string; status: ClientStatus }>(
    'select id, email, first_name, last_name, status from clients where agency_id = $1 and id = $2 for update',
    [agencyId, id],
  );
  return rows[0] ?? null;
}

/** False when the client is not (or no longer) active. */
export async function setActiveClientPassword(db: Queryable, agencyId: string, clientId: string, passwordHash: string): Promise<boolean> {
  const updated = await db.query(`update clients set password_hash = $3, updated_at = now() where id = $1 and agency_id = $2 and status = 'active'`, [
    clientId,
    agencyId,
    passwordHash,
  ]);
  return Boolean(updated.rowCount);
}

export async function getClientPasswordHash(db: Queryable, agencyId: string, clientId: string): Promise<{ password_hash: string } | undefined> {
  const { rows } = await db.query<{ password_hash: string }>('select password_hash from clients where id = $1 and agency_id = $2', [clientId, agencyId]);
  return rows[0];
}

/** Locks the client row for the rest of the transaction. */
export async function lockClientForAccept(db: Queryable, agencyId: string, clientId: string): Promise<{ status: string; has_password: boolean } | undefined> {
  const { rows } = await db.query<{ status: string; has_password: boolean }>(
    'select status, (password_hash is not null) as has_password from clients where id = $1 and agency_id = $2 for update',
    [clientId, agencyId],
  );
  return rows[0];
}

/** Accepting activates the client; a null hash keeps the password the client has (or has not). */
export async function activateClient(db: Queryable, agencyId: string, clientId: string, passwordHash: string | null): Promise<void> {
  await db.query(
    `update clients set status = 'active', activated_at = coalesce(activated_at, now()),
            password_hash = coalesce($3, password_hash), updated_at = now()
      where id = $1 and agency_id = $2`,
    [clientId, agencyId, passwordHash],
  );
}

export interface ClientUpsert {
  id: string;
  status: 'inactive' | 'invited' | 'active' | 'deactivated';
  email: string;
  first_name: string;
  last_name: string;
}

/**
 * The client an invitation is for: created `invited`, or the existing row of that address returned as it is
 * (the no-op update takes its row lock, so a concurrent change to the client waits). Nothing is written for
 * a firm user's address. Shared by the single-row path below and the invite API's one-statement path
 * (invitationInserts.ts), whose `onlyIf` gates the write on the project check.
 */
export const invitedClientUpsertSql = (p: {
  agencyId: string;
  email: string;
  firstName: string;
  lastName: string;
  /** Rows to upsert many at once (the invite API's group commit); their addresses must be distinct. */
  from?: string;
  onlyIf?: string;
}): string =>
  `insert into clients (agency_id, email, first_name, last_name, status)
     select ${p.agencyId}, ${p.email}, ${p.firstName}, ${p.lastName}, 'invited'${p.from ? ` from ${p.from}` : ''}
      where not exists (select 1 from firm_users where agency_id = ${p.agencyId} and email_normalized = lower(btrim(${p.email})))${p.onlyIf ? ` and ${p.onlyIf}` : ''}
     on conflict (agency_id, email_normalized) do update set updated_at = clients.updated_at
     returning id, status, email, first_name, last_name, email_normalized`;

/**
 * The client of this email in the agency, created (status invited) if new and locked for this transaction;
 * null when the address belongs to a firm user of the agency. One round trip: this is the hot path of every
 * invite, Create Project and assignment.
 */
export async function upsertInvitedClient(
  db: Queryable,
  agencyId: string,
  input: { email: string; first_name: string; last_name: string },
): Promise<ClientUpsert | null> {
  const { rows } = await db.query<ClientUpsert>(invitedClientUpsertSql({ agencyId: '$1', email: '$2', firstName: '$3', lastName: '$4' }), [
    agencyId,
    input.email,
    input.first_name,
    input.last_name,
  ]);
  return rows[0] ?? null;
}

/**
 * upsertInvitedClient for several distinct addresses in one statement (Create Project's clients). Rows are
 * written in the order given, so the caller's order is the order their rows are locked in. Returns, for
 * each input (by its index `n`, from 0), its client; an address that belongs to a firm user has none.
 */
export async function upsertInvitedClients(
  db: Queryable,
  agencyId: string,
  inputs: Array<{ email: string; first_name: string; last_name: string }>,
): Promise<Array<ClientUpsert & { n: number }>> {
  if (inputs.length === 0) return [];
  // Rows matched back to their input by the address as the table normalises it (email_normalized), never by
  // a second normalisation in JavaScript that could differ from the database's lower().
  const { rows } = await db.query<ClientUpsert & { n: number }>(
    `with r as (select * from unnest($2::text[], $3::text[], $4::text[]) with ordinality as r(email, first_name, last_name, n) order by n),
     up as (${invitedClientUpsertSql({ agencyId: '$1', email: 'r.email', firstName: 'r.first_name', lastName: 'r.last_name', from: 'r' })})
     select (r.n - 1)::int as n, up.* from r join up on up.email_normalized = lower(btrim(r.email))`,
    [agencyId, inputs.map((i) => i.email), inputs.map((i) => i.first_name), inputs.map((i) => i.last_name)],
  );
  return rows;
}

export async function getClientStatus(db: Queryable, clientId: string): Promise<{ status: string } | undefined> {
  const { rows } = await db.query<{ status: string }>('select status from clients where id = $1', [clientId]);
  return rows[0];
}

/** The client and the project's name, as the invite API shows a client added to a project. */
export async function getClientWithProjectName(
  db: Queryable,
  clientId: string,
  projectId: string,
): Promise<{ id: string; email: string; first_name: string; last_name: string; status: string; project_name: string } | undefined> {
  const { rows } = await db.query<{ id: string; email: string; first_name: string; last_name: string; status: string; project_name: string }>(
    `select c.id, c.email, c.first_name, c.last_name, c.status, p.name as project_name
         from clients c, projects p where c.id = $1 and p.id = $2`,
    [clientId, projectId],
  );
  return rows[0];
}

export async function lockClientWithActivation(db: Queryable, agencyId: string, id: string): Promise<(ClientRow & { activated_at: Date | null }) | undefined> {
  const { rows } = await db.query<ClientRow & { activated_at: Date | null }>(
    `select ${clientColumns}, activated_at from clients where agency_id = $1 and id = $2 for update`,
    [agencyId, id],
  );
  return rows[0];
}

export async function markClientDeactivated(db: Queryable, id: string): Promise<ClientRow> {
  const { rows } = await db.query<ClientRow>(
    `update clients set status = 'deactivated', deactivated_at = now(), updated_at = now() where id = $1 returning ${clientColumns}`,
    [id],
  );
  return rows[0]!;
}

/** Active again if the client had accepted before, otherwise inactive (ready to be invited). */
export async function markClientReactivated(db: Queryable, id: string): Promise<ClientRow> {
  const { rows } = await db.query<ClientRow>(
    `update clients set status = case when activated_at is not null then 'active' else 'inactive' end,
              deactivated_at = null, updated_at = now() where id = $1 returning ${clientColumns}`,
    [id],
  );
  return rows[0]!;
}

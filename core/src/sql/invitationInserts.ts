import { eventDataSql, insertEventsSql } from '../events/catalog.js';
import type { Queryable } from '../db/pool.js';
import { invitedClientUpsertSql } from './clients.js';

/**
 * The statements of the invitation rule, shared by every door: the invite API, Create Project and task
 * assignment send one row, an import batch thousands (`unnest`). What a new invitation writes is written
 * here only: the pending invitation (expiry from the agency's setting unless given), its
 * `invitation.created` event, its outbox email when sending, the client's inactive -> invited step, and
 * (an import's rows in a project the batch created) its task assignments.
 */
export interface NewInvitations {
  agencyId: string;
  actorId: string | null;
  /** The import making them; null from the API. An import's events also carry `import_id` and `task_ids`. */
  importId: string | null;
  sendEmails: boolean;
  /** Days until expiry; null = the agency's `invite_expiry_days`. */
  expiryDays: number | null;
  projectIds: string[];
  clientIds: string[];
  emails: string[];
  messages: Array<string | null>;
  tokenHashes: Buffer[];
  tokenCiphertexts: Buffer[];
  /** Per row, the task ids it assigns, comma-joined: recorded in its invitation.created event (imports). */
  taskIds: string[];
  /**
   * Per row: its project was created by this batch, so none of its tasks has an assignee yet and the row's
   * assignments are inserted here, from `taskIds`, with plain inserts.
   */
  assignHere: boolean[];
  /** Per row: the client is inactive and becomes invited with this invitation. */
  clientInactive: boolean[];
}

/**
 * `batch`: the caller checked that none of the (project, email) pairs has a pending invitation, so the
 * insert is plain (no ON CONFLICT, no join of the inserted rows back to the input: an import's hot path);
 * one written concurrently since makes the statement fail on `invitations_one_pending_idx`. Returns, per
 * row, its email id and, unless its assignments went in here, its (project, client) pair.
 *
 * `skip`: a pair that has a pending invitation is skipped (ON CONFLICT DO NOTHING, which waits for a
 * concurrent insert to commit) and everything else the rule writes follows only the rows inserted. Returns
 * the inserted invitations as the API shows them.
 */
export type InsertMode = 'batch' | 'skip';

/**
 * `one` (the invite API's common case, see insertOneInvitation): `skip` with the project check and the
 * client upsert in front, and the email handed to the relay (email_relay), all in one statement. It
 * writes an invitation only for a live project and a client who is new or already `invited`; any other
 * case writes nothing but the (idempotent) client upsert, and the caller takes the full path.
 *
 * `many` (the invite API's group commit, see insertInvitationsTogether): `one` for several rows, unnested,
 * each row decided alone and returned with its place (`n`).
 */
type StatementMode = InsertMode | 'one' | 'many';

export interface InsertedInvitation {
  id: string;
  project_id: string;
  client_id: string;
  email: string;
  message: string | null;
  expires_at: Date;
  send_count: number;
  last_sent_at: Date | null;
  delivery_status: 'not_sent' | 'queued' | 'sent' | 'failed';
  created_at: Date;
  email_id: string | null;
}

/**
 * The event of a row that brings a client into a project carries the row's task ids (comma-joined per
 * row): one event per imported row, where assigning through the API writes a task.assigned event per
 * assignment.
 */
export const rowTaskIdsJson = (tids: string) => `coalesce(to_jsonb(string_to_array(nullif(${tids}, ''), ',')), '[]'::jsonb)`;

const inputRows = `unnest($6::uuid[], $7::uuid[], $8::text[], $9::text[], $10::bytea[], $11::bytea[], $12::text[], $13::boolean[], $14::boolean[])
             as u(p, c, email, message, th, tc, tids, here, inactive)`;

function statement(mode: StatementMode): string {
  // In `batch` mode every row of `u` is written; otherwise only those `ins` returned (`w`).
  const rows = mode === 'batch' ? 'u' : 'w';
  const source =
    mode === 'many'
      ? `r as (
      select * from unnest($6::uuid[], $7::text[], $8::text[], $9::bytea[], $10::bytea[], $11::text[], $12::text[])
                    with ordinality as r(p, email, message, th, tc, first_name, last_name, n)
    ), pr as materialized (
      select id, name from projects where agency_id = $1 and id = any($6::uuid[]) and archived_at is null
    ), cu as (
      ${invitedClientUpsertSql({
        agencyId: '$1',
        email: 'r.email',
        firstName: 'r.first_name',
        lastName: 'r.last_name',
        from: 'r',
        onlyIf: 'exists (select 1 from pr where pr.id = r.p)',
      })}
    ), u as materialized (
      select onramp_new_id() as id, case when $4::boolean then onramp_new_id() end as email_id, r.n,
             r.p, cu.id as c, r.email, r.message, r.th, r.tc, ''::text as tids
        -- cu has a row only for a row whose project is live (addresses are distinct in a group).
        from r join cu on cu.email_normalized = lower(btrim(r.email))
       where cu.status = 'invited'
    )`
      : mode === 'one'
        ? `pr as materialized (
      select id, name from projects where agency_id = $1 and id = $6::uuid and archived_at is null
    ), cu as (
      ${invitedClientUpsertSql({ agencyId: '$1', email: '$8::text', firstName: '$15', lastName: '$16', onlyIf: 'exists (select 1 from pr)' })}
    ), u as materialized (
      -- Scalars, not unnest: with its row count known the plan is the same for every call, so PostgreSQL
      -- keeps one generic plan for the named statement instead of planning each invite (2 ms of CPU).
      -- $7 (the client ids of the other modes), $13 and $14 (their task and client steps) are unused here; they
      -- are typed so the statement prepares.
      select onramp_new_id() as id, case when $4::boolean then onramp_new_id() end as email_id,
             $6::uuid as p, cu.id as c, $8::text as email, $9::text as message, $10::bytea as th, $11::bytea as tc,
             $12::text as tids, $13::boolean as here, $14::boolean as inactive
        from cu
       where cu.status = 'invited' and $7::uuid is null
    )`
        : `u as materialized (
      select onramp_new_id() as id, case when $4::boolean then onramp_new_id() end as email_id, u.*
        from ${inputRows}
    )`;
  return `
    with ${source}, ins as (
      insert into invitations (id, agency_id, project_id, client_id, email, created_by, message, expires_at, token_hash, token_ciphertext,
                               delivery_status, send_count, last_sent_at)
      select u.id, $1, u.p, u.c, u.email, $2, u.message,
             now() + make_interval(days => coalesce($5::int, (select invite_expiry_days from agencies where id = $1))), u.th, u.tc,
             case when $4::boolean then 'queued' else 'not_sent' end, case when $4::boolean then 1 else 0 end,
             case when $4::boolean then now() end
        from u
      ${
        mode !== 'batch'
          ? `on conflict (project_id, email_normalized) where status = 'pending' do nothing
      returning id, project_id, client_id, email, message, expires_at, send_count, last_sent_at, delivery_status, created_at`
          : ''
      }
    )${mode !== 'batch' ? `, w as (select u.* from u join ins using (id))` : ''}, ev as (
      insert into events (agency_id, type, subject_id, actor_id, data)
      select $1, 'invitation.created', t.id, $2,
             ${eventDataSql('invitation.created', { project_id: 't.p', client_id: 't.c', email: 't.email' })}
             || case when $3::uuid is null then '{}'::jsonb else jsonb_build_object('import_id', $3::uuid, 'task_ids', ${rowTaskIdsJson('t.tids')}) end
        from ${rows} t
    ), em as (
      insert into emails (id, agency_id, kind, to_address, invitation_id, client_id, token_ciphertext)
      select r.email_id, $1, 'invitation', r.email, r.id, r.c, r.tc from ${rows} r where $4::boolean
    )${
      mode === 'one' || mode === 'many'
        ? // The API's rows never assign tasks, and their client is new or already invited (u keeps no other), so
          // they have no task or client step: leaving those out also spares every call their plans' work (the
          // client step's generic plan, made while the table was small, scanned all the agency's clients).
          `, rl as (
      insert into email_relay (email_id) select w.email_id from w where w.email_id is not null
    )`
        : `, ta as (
      insert into task_assignees (task_id, client_id, agency_id)
      select t::uuid, r.c, $1 from ${rows} r cross join lateral unnest(string_to_array(nullif(r.tids, ''), ',')) as t where r.here
    ), cl as (
      -- = any(array(...)): an index probe per inactive client (usually none), never a join over the agency's clients.
      update clients set status = 'invited', updated_at = now()
       where agency_id = $1 and id = any(array(select r.c from ${rows} r where r.inactive)) and status = 'inactive'
    )`
    }
    ${
      mode === 'batch'
        ? 'select case when not u.here then u.p end as project_id, case when not u.here then u.c end as client_id, u.email_id from u'
        : mode === 'skip'
          ? 'select ins.*, w.email_id from ins join w using (id)'
          : mode === 'one'
            ? `select ins.*, w.email_id, pr.name as project_name, cu.email as client_email, cu.first_name as client_first_name,
                cu.last_name as client_last_name
           from ins join w using (id) cross join pr cross join cu`
            : `select ins.*, w.email_id, w.n, pr.name as project_name, cu.email as client_email, cu.first_name as client_first_name,
                cu.last_name as client_last_name
           from ins join w using (id) join pr on pr.id = w.p join cu on cu.id = w.c`
    }`;
}

const statements: Record<StatementMode, string> = {
  batch: statement('batch'),
  skip: statement('skip'),
  one: statement('one'),
  many: statement('many'),
};

/** A row of `batch` mode: the pair is null when the row's assignments went in with it. */
export interface BatchInserted {
  project_id: string | null;
  client_id: string | null;
  email_id: string | null;
}

export async function insertInvitations(db: Queryable, input: NewInvitations, mode: 'skip'): Promise<InsertedInvitation[]>;
export async function insertInvitations(db: Queryable, input: NewInvitations, mode: 'batch'): Promise<BatchInserted[]>;
export async function insertInvitations(db: Queryable, input: NewInvitations, mode: InsertMode): Promise<unknown[]> {
  if (input.projectIds.length === 0) return [];
  const { rows } = await db.query(statements[mode], [
    input.agencyId,
    input.actorId,
    input.importId,
    input.sendEmails,
    input.expiryDays,
    input.projectIds,
    input.clientIds,
    input.emails,
    input.messages,
    input.tokenHashes,
    input.tokenCiphertexts,
    input.taskIds,
    input.assignHere,
    input.clientInactive,
  ]);
  return rows;
}

/** What insertOneInvitation wrote: the invitation, and the project and client as the API shows them. */
export interface InsertedOneInvitation extends InsertedInvitation {
  project_name: string;
  client_email: string;
  client_first_name: string;
  client_last_name: string;
}

/** One invite of the API's common case: what insertOneInvitation and insertInvitationsTogether write. */
export interface OneInvitation {
  agencyId: string;
  actorId: string;
  projectId: string;
  email: string;
  firstName: string;
  lastName: string;
  message: string | null;
  sendEmail: boolean;
  tokenHash: Buffer;
  tokenCiphertext: Buffer;
}

/**
 * The invite API's common case in one statement and one round trip, no explicit transaction (a statement
 * is atomic): a live project of the agency, a client who is new or `invited`, no pending invitation for
 * the pair. Then the invitation, its event, its outbox email and the email's relay row are written, and
 * the row comes back; in every other case (archived or unknown project, a firm user's address, an
 * active, inactive or deactivated client, a pending invitation) nothing but the idempotent client upsert
 * is written, null comes back, and the caller takes the full path, whose rules decide.
 */
export async function insertOneInvitation(db: Queryable, input: OneInvitation): Promise<InsertedOneInvitation | null> {
  // Named: prepared once per connection, and planned once (see the `u` of statement('one')).
  const { rows } = await db.query<InsertedOneInvitation>({
    name: 'onramp-invite-one',
    text: statements.one,
    values: [
      input.agencyId,
      input.actorId,
      null,
      input.sendEmail,
      null,
      input.projectId,
      null,
      input.email,
      input.message,
      input.tokenHash,
      input.tokenCiphertext,
      '',
      false,
      false,
      input.firstName,
      input.lastName,
    ],
  });
  return rows[0] ?? null;
}

/**
 * A pending invitation past its expiry no longer counts and blocks the unique index: before inviting
 * again, expire it as the sweep would (status expired, its link burnt, its queued email cancelled, an
 * `invitation.expired` event). One row from the API, a batch's pairs from an import.
 */
export async function expireStaleInvitations(db: Queryable, agencyId: string, projectIds: string[], emails: string[]): Promise<number> {
  if (projectIds.length === 0) return 0;
  const { rowCount } = await db.query(
    `with x as (
       update invitations i set status = 'expired', token_hash = null, updated_at = now()
        where i.id in (select s.id from unnest($2::uuid[], $3::text[]) as u(p, em)
                        cross join lateral (select id from invitations
                                             where project_id = u.p and email_normalized = u.em and status = 'pending'
                                               and agency_id = $1 and expires_at <= now() offset 0) s)
       returning i.id, i.project_id, i.client_id
     ), cancelled as (
       update emails e set status = 'cancelled' from x where e.invitation_id = x.id and e.status = 'queued'
     )
     ${insertEventsSql('invitation.expired', { agencyId: '$1', subjectId: 'x.id', data: { project_id: 'x.project_id', client_id: 'x.client_id' }, from: 'from x' })}`,
    [agencyId, projectIds, emails],
  );
  return rowCount ?? 0;
}

/**
 * insertOneInvitation for several invites at once, in one statement and one commit (the invite API's group
 * commit): each row is decided exactly as it would be alone, and comes back in its input's place, null where
 * it wrote no invitation. All rows share the agency, the actor and sendEmail, and their addresses are
 * distinct (one statement may not upsert a client twice). A statement is atomic: if it fails, nothing of
 * any row was written.
 */
export async function insertInvitationsTogether(
  db: Queryable,
  common: Pick<OneInvitation, 'agencyId' | 'actorId' | 'sendEmail'>,
  rows: Array<Omit<OneInvitation, 'agencyId' | 'actorId' | 'sendEmail'>>,
): Promise<Array<InsertedOneInvitation | null>> {
  const { rows: inserted } = await db.query<InsertedOneInvitation & { n: number }>({
    name: 'onramp-invite-many',
    text: statements.many,
    values: [
      common.agencyId,
      common.actorId,
      null,
      common.sendEmail,
      null,
      rows.map((r) => r.projectId),
      rows.map((r) => r.email),
      rows.map((r) => r.message),
      rows.map((r) => r.tokenHash),
      rows.map((r) => r.tokenCiphertext),
      rows.map((r) => r.firstName),
      rows.map((r) => r.lastName),
    ],
  });
  const out: Array<InsertedOneInvitation | null> = rows.map(() => null);
  for (const { n, ...row } of inserted) out[n - 1] = row;
  return out;
}

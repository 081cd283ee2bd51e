import type { Queryable } from '../db/pool.js';
import { insertEventsSql } from '../events/catalog.js';
import { taskAssignedData } from './events.js';
import type { ImportCounts } from '../read/resources.js';

/**
 * SQL of the CSV import. Every statement takes arrays (unnest) so a batch of thousands of rows costs a
 * fixed number of round trips, and every insert is conflict-safe so a replayed batch creates nothing twice.
 *
 * Lookups are written as `unnest(...) cross join lateral (... where <key of an index> = u.x limit 1)`: the
 * LIMIT (or OFFSET 0) keeps the planner from flattening the subquery into a join, so it stays a nested loop
 * of index probes, one per value, whatever the statistics say. The plain `key = any($2)` / `join unnest` forms were
 * planned as a hash join over every row of the agency (or of the import) when the statistics predate the
 * import (they always do for the rows it is creating), so each batch scanned everything the earlier batches
 * wrote: quadratic in the file size.
 */

export interface ImportState {
  id: string;
  agency_id: string;
  created_by: string | null;
  status: 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
  dry_run: boolean;
  send_emails: boolean;
  default_template: string | null;
  checkpoint_row: number;
  rows_total: number | null;
  counts: Partial<ImportCounts>;
  cancel_requested: boolean;
  sha256: string | null;
}

const stateColumns = 'id, agency_id, created_by, status, dry_run, send_emails, default_template, checkpoint_row, rows_total, counts, cancel_requested, sha256';

/** The worker knows only the id; everything after this is scoped by the row's agency_id. */
export async function getImportState(db: Queryable, id: string, lock = false): Promise<ImportState | null> {
  const { rows } = await db.query<ImportState>(`select ${stateColumns} from imports where id = $1${lock ? ' for update' : ''}`, [id]);
  return rows[0] ?? null;
}

export interface ImportLane {
  lane: number;
  checkpoint_row: number;
}

export async function getImportLanes(db: Queryable, importId: string): Promise<ImportLane[]> {
  const { rows } = await db.query<ImportLane>('select lane, checkpoint_row from import_lanes where import_id = $1 order by lane', [importId]);
  return rows;
}

/** The lanes of an import, made at its first run; one that started before lanes existed gets every lane at its single checkpoint. */
export async function createImportLanes(db: Queryable, importId: string, lanes: number, checkpointRow: number): Promise<ImportLane[]> {
  await db.query(
    'insert into import_lanes (import_id, lane, checkpoint_row) select $1, g, $3 from generate_series(0, $2::int - 1) g on conflict do nothing',
    [importId, lanes, checkpointRow],
  );
  return getImportLanes(db, importId);
}

/** Locks one lane's row (never the import's, which every lane updates only just before it commits). */
export async function lockImportLane(db: Queryable, importId: string, lane: number): Promise<{ checkpoint_row: number; status: ImportState['status'] } | null> {
  const { rows } = await db.query<{ checkpoint_row: number; status: ImportState['status'] }>(
    `select l.checkpoint_row, i.status from import_lanes l join imports i on i.id = l.import_id
      where l.import_id = $1 and l.lane = $2 for update of l`,
    [importId, lane],
  );
  return rows[0] ?? null;
}

/**
 * Moves a lane's checkpoint and adds the batch's counts to the import, in the batch's transaction. With
 * lanes the import's checkpoint_row is progress: the rows applied so far, whichever lane applied them
 * (the resume points are the lanes'). Returns the import's status, `cancelled` once a cancel was requested.
 */
export async function commitLaneBatch(db: Queryable, importId: string, lane: number, checkpointRow: number, delta: ImportCounts): Promise<string> {
  const { rows } = await db.query<{ status: string }>(
    `with l as (update import_lanes set checkpoint_row = $3 where import_id = $1 and lane = $2)
     update imports i
        set counts = (select jsonb_object_agg(d.k, coalesce((i.counts ->> d.k)::bigint, 0) + d.v::bigint) from jsonb_each_text($4::jsonb) d(k, v)),
            checkpoint_row = i.checkpoint_row + ($4::jsonb ->> 'rows')::int,
            status = case when i.cancel_requested then 'cancelled' else i.status end,
            finished_at = case when i.cancel_requested then now() else i.finished_at end
      where i.id = $1
      returning i.status`,
    [importId, lane, checkpointRow, JSON.stringify(delta)],
  );
  return rows[0]!.status;
}

export async function insertImport(
  db: Queryable,
  input: { agencyId: string; createdBy: string; filename: string | null; dryRun: boolean; sendEmails: boolean; defaultTemplate: string | null },
): Promise<{ id: string }> {
  const { rows } = await db.query<{ id: string }>(
    `insert into imports (agency_id, created_by, filename, dry_run, send_emails, default_template) values ($1, $2, $3, $4, $5, $6) returning id`,
    [input.agencyId, input.createdBy, input.filename, input.dryRun, input.sendEmails, input.defaultTemplate],
  );
  return rows[0]!;
}

export async function insertChunk(db: Queryable, importId: string, chunkNo: number, data: Buffer): Promise<void> {
  await db.query('insert into import_chunks (import_id, chunk_no, data) values ($1, $2, $3)', [importId, chunkNo, data]);
}

export async function deleteImport(db: Queryable, agencyId: string, id: string): Promise<void> {
  // import_keys has no foreign key (0096): its rows go explicitly; the rest cascades.
  await db.query(
    `with gone as (delete from imports where agency_id = $1 and id = $2 returning id)
     delete from import_keys k using gone where k.import_id = gone.id`,
    [agencyId, id],
  );
}

export interface TemplateInfo {
  id: string;
  name: string;
  tasks: Array<{ title: string; position: number }>;
}

export async function findTemplatesByName(db: Queryable, agencyId: string, lowerNames: string[]): Promise<Array<TemplateInfo & { key: string }>> {
  if (lowerNames.length === 0) return [];
  const { rows } = await db.query<TemplateInfo & { key: string }>(
    `select t.id, t.name, lower(t.name) as key,
            coalesce(json_agg(json_build_object('title', tt.title, 'position', tt.position) order by tt.position)
                     filter (where tt.id is not null), '[]') as tasks
       from templates t left join template_tasks tt on tt.template_id = t.id
      where t.agency_id = $1 and lower(t.name) = any($2::text[])
      group by t.id`,
    [agencyId, lowerNames],
  );
  return rows;
}

export interface ExistingClient {
  id: string;
  email_normalized: string;
  status: 'inactive' | 'invited' | 'active' | 'deactivated';
  firm_user: boolean;
}

/**
 * Clients by normalised email, plus the emails of the agency's firm users (its staff: a handful of rows,
 * read whole rather than probed once per email of the batch).
 */
export async function findClientsAndFirmUsers(db: Queryable, agencyId: string, emails: string[]): Promise<{ clients: ExistingClient[]; firmUsers: Set<string> }> {
  const { rows } = await db.query<{ kind: 'c' | 'f'; id: string | null; email_normalized: string; status: ExistingClient['status'] | null }>(
    `select 'c' as kind, c.id, c.email_normalized, c.status
       from unnest($2::text[]) as u(em)
       cross join lateral (select id, email_normalized, status from clients where agency_id = $1 and email_normalized = u.em limit 1) c
     union all
     select 'f', null, f.email_normalized, null from firm_users f where f.agency_id = $1`,
    [agencyId, emails],
  );
  const firmUsers = new Set(rows.filter((r) => r.kind === 'f').map((r) => r.email_normalized));
  const clients = rows.filter((r) => r.kind === 'c').map((r) => ({ id: r.id!, email_normalized: r.email_normalized, status: r.status!, firm_user: false }));
  return { clients, firmUsers };
}

export interface ImportProjectRow {
  project_key: string;
  project_id: string;
  template_id: string | null;
  created: boolean;
}

export async function findImportProjects(db: Queryable, importId: string, keys: string[]): Promise<ImportProjectRow[]> {
  const { rows } = await db.query<ImportProjectRow>(
    `select p.project_key, p.project_id, p.template_id, p.created
       from unnest($2::text[]) as u(k)
       cross join lateral (select * from import_projects where import_id = $1 and project_key = u.k limit 1) p`,
    [importId, keys],
  );
  return rows;
}

/** Existing projects by external id, and by exact name among projects without one (the oldest wins). */
export async function findProjectsByKey(
  db: Queryable,
  agencyId: string,
  externalIds: string[],
  names: string[],
): Promise<Array<{ key: string; id: string; template_id: string | null }>> {
  const { rows } = await db.query<{ key: string; id: string; template_id: string | null }>(
    `select 'x:' || u.x as key, p.id, p.template_id
       from unnest($2::text[]) as u(x)
       cross join lateral (select id, template_id from projects where agency_id = $1 and external_id = u.x limit 1) p
     union all
     select 'n:' || u.n, p.id, p.template_id
       from (select distinct unnest($3::text[])) as u(n)
       cross join lateral (select id, template_id from projects where agency_id = $1 and name = u.n and external_id is null order by seq limit 1) p`,
    [agencyId, externalIds, names],
  );
  return rows;
}

export async function findTasksOfProjects(db: Queryable, agencyId: string, projectIds: string[]): Promise<Array<{ id: string; project_id: string; key: string }>> {
  if (projectIds.length === 0) return [];
  const { rows } = await db.query<{ id: string; project_id: string; key: string }>(
    `select t.id, t.project_id, lower(t.title) as key
       from unnest($2::uuid[]) as u(p)
       cross join lateral (select id, project_id, title from tasks where project_id = u.p and agency_id = $1 offset 0) t`,
    [agencyId, projectIds],
  );
  return rows;
}

export async function findImportKeys(db: Queryable, importId: string, keys: string[], emails: string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const { rows } = await db.query<{ k: string }>(
    `select u.pk || E'\\n' || u.em as k
       from unnest($2::text[], $3::text[]) as u(pk, em)
       cross join lateral (select 1 from import_keys k where k.import_id = $1 and k.project_key = u.pk and k.email_normalized = u.em limit 1) k`,
    [importId, keys, emails],
  );
  return new Set(rows.map((r) => r.k));
}

/**
 * Of (project, email) pairs, those with a pending invitation or a membership (keyed by the project key the
 * caller gave): in a project the import created, an earlier row of the import put them there.
 */
export async function findInvitedOrMembers(
  db: Queryable,
  agencyId: string,
  input: { keys: string[]; projectIds: string[]; emails: string[]; clientIds: Array<string | null> },
): Promise<Set<string>> {
  if (input.keys.length === 0) return new Set();
  const { rows } = await db.query<{ k: string }>(
    `select u.k || E'\\n' || u.em as k
       from unnest($2::text[], $3::uuid[], $4::text[], $5::uuid[]) as u(k, p, em, c)
      where exists (select 1 from invitations i where i.project_id = u.p and i.email_normalized = u.em and i.status = 'pending' and i.agency_id = $1)
         or exists (select 1 from memberships m where m.project_id = u.p and m.client_id = u.c and m.agency_id = $1)`,
    [agencyId, input.keys, input.projectIds, input.emails, input.clientIds],
  );
  return new Set(rows.map((r) => r.k));
}

export async function findPendingInvitations(db: Queryable, agencyId: string, projectIds: string[], emails: string[]): Promise<Set<string>> {
  if (projectIds.length === 0) return new Set();
  const { rows } = await db.query<{ k: string }>(
    `select u.p || E'\\n' || u.em as k
       from unnest($2::uuid[], $3::text[]) as u(p, em)
       cross join lateral (select 1 from invitations i
                            where i.project_id = u.p and i.email_normalized = u.em and i.status = 'pending' and i.agency_id = $1 and i.expires_at > now()
                            limit 1) i`,
    [agencyId, projectIds, emails],
  );
  return new Set(rows.map((r) => r.k));
}

export async function findMemberships(db: Queryable, agencyId: string, projectIds: string[], clientIds: string[]): Promise<Set<string>> {
  if (projectIds.length === 0) return new Set();
  const { rows } = await db.query<{ k: string }>(
    `select u.p || E'\\n' || u.c as k
       from unnest($2::uuid[], $3::uuid[]) as u(p, c)
       cross join lateral (select 1 from memberships m where m.project_id = u.p and m.client_id = u.c and m.agency_id = $1 limit 1) m`,
    [agencyId, projectIds, clientIds],
  );
  return new Set(rows.map((r) => r.k));
}

/** Creates projects with their template's tasks and a project.created event each; returns what was created. */
export async function createProjects(
  db: Queryable,
  input: { agencyId: string; actorId: string | null; importId: string; names: string[]; externalIds: Array<string | null>; templateIds: Array<string | null> },
): Promise<Array<{ id: string; name: string; external_id: string | null; template_id: string | null }>> {
  if (input.names.length === 0) return [];
  const { rows } = await db.query<{ id: string; name: string; external_id: string | null; template_id: string | null }>(
    `with ins as (
       insert into projects (agency_id, name, external_id, template_id, created_by)
       select $1, u.name, u.external_id, u.template_id, $2 from unnest($4::text[], $5::text[], $6::uuid[]) as u(name, external_id, template_id)
       on conflict (agency_id, external_id) do nothing
       returning id, name, external_id, template_id
     ), tasks_ins as (
       insert into tasks (agency_id, project_id, position, title, description)
       select $1, ins.id, tt.position, tt.title, tt.description from ins join template_tasks tt on tt.template_id = ins.template_id
     ), ev as (
       ${insertEventsSql('project.created', {
         agencyId: '$1',
         subjectId: 'ins.id',
         actorId: '$2',
         data: { import_id: '$3::uuid', name: 'ins.name', external_id: 'ins.external_id', template_id: 'ins.template_id' },
         from: 'from ins',
       })}
     )
     select id, name, external_id, template_id from ins`,
    [input.agencyId, input.actorId, input.importId, input.names, input.externalIds, input.templateIds],
  );
  return rows;
}

export async function insertImportProjects(db: Queryable, importId: string, rows: ImportProjectRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `insert into import_projects (import_id, project_key, project_id, template_id, created)
     select $1, * from unnest($2::text[], $3::uuid[], $4::uuid[], $5::boolean[]) on conflict do nothing`,
    [importId, rows.map((r) => r.project_key), rows.map((r) => r.project_id), rows.map((r) => r.template_id), rows.map((r) => r.created)],
  );
}

/**
 * New clients start `invited`; returns the id of every email given. Another lane of the same import (or
 * the API) may be inserting the same email right now: DO UPDATE waits for that transaction and returns
 * its row, where DO NOTHING plus a re-read would miss a row committed after this statement's snapshot.
 * The update is a no-op write that only happens on such a race. Rows go in email order so two
 * transactions inserting overlapping sets lock them in the same order and cannot deadlock.
 */
export async function upsertClients(
  db: Queryable,
  agencyId: string,
  input: { emails: string[]; firstNames: string[]; lastNames: string[] },
): Promise<{ ids: Map<string, string>; inserted: Set<string> }> {
  const out = { ids: new Map<string, string>(), inserted: new Set<string>() };
  if (input.emails.length === 0) return out;
  // xmax is 0 on a row this statement inserted, set on one it updated (another transaction's).
  const { rows } = await db.query<{ id: string; email_normalized: string; inserted: boolean }>(
    `insert into clients (agency_id, email, first_name, last_name, status)
     select $1, u.email, u.first_name, u.last_name, 'invited' from unnest($2::text[], $3::text[], $4::text[]) as u(email, first_name, last_name)
      order by lower(btrim(u.email))
     on conflict (agency_id, email_normalized) do update set updated_at = clients.updated_at
     returning id, email_normalized, xmax = 0 as inserted`,
    [agencyId, input.emails, input.firstNames, input.lastNames],
  );
  for (const r of rows) {
    out.ids.set(r.email_normalized, r.id);
    if (r.inserted) out.inserted.add(r.id);
  }
  return out;
}

export async function markClientsInvited(db: Queryable, agencyId: string, clientIds: string[]): Promise<void> {
  if (clientIds.length === 0) return;
  await db.query(`update clients set status = 'invited', updated_at = now() where agency_id = $1 and id = any($2::uuid[]) and status = 'inactive'`, [
    agencyId,
    clientIds,
  ]);
}

/** A pending invitation past its expiry blocks the unique index: expire it first (with its event), as the sweep would. */
export async function expireStaleInvitations(db: Queryable, agencyId: string, projectIds: string[], emails: string[]): Promise<void> {
  if (projectIds.length === 0) return;
  await db.query(
    `with x as (
       update invitations i set status = 'expired', updated_at = now()
        where i.id in (select s.id from unnest($2::uuid[], $3::text[]) as u(p, em)
                        cross join lateral (select id from invitations
                                             where project_id = u.p and email_normalized = u.em and status = 'pending'
                                               and agency_id = $1 and expires_at <= now() offset 0) s)
       returning i.id, i.project_id, i.client_id
     )
     ${insertEventsSql('invitation.expired', { agencyId: '$1', subjectId: 'x.id', data: { project_id: 'x.project_id', client_id: 'x.client_id' }, from: 'from x' })}`,
    [agencyId, projectIds, emails],
  );
}

/**
 * The event of a row that brings a client into a project carries the row's task ids (comma-joined per
 * row in `taskIds`): one event per imported row, where assigning through the API writes a task.assigned
 * event per assignment. It is joined back on (project, client), which the insert makes unique.
 */
const rowTaskIdsJson = `coalesce(to_jsonb(string_to_array(nullif(t.tids, ''), ',')), '[]'::jsonb)`;

export async function addMemberships(
  db: Queryable,
  input: { agencyId: string; actorId: string | null; importId: string; projectIds: string[]; clientIds: string[]; taskIds: string[] },
): Promise<Array<{ project_id: string; client_id: string }>> {
  if (input.projectIds.length === 0) return [];
  const { rows } = await db.query<{ project_id: string; client_id: string }>(
    `with ins as (
       insert into memberships (project_id, client_id, agency_id)
       select u.p, u.c, $1 from unnest($4::uuid[], $5::uuid[]) as u(p, c)
       on conflict do nothing returning project_id, client_id
     ), ev as (
       ${insertEventsSql('client.added_to_project', {
         agencyId: '$1',
         subjectId: 'ins.client_id',
         actorId: '$2',
         data: { project_id: 'ins.project_id', client_id: 'ins.client_id', import_id: '$3::uuid', task_ids: rowTaskIdsJson },
         from: 'from ins join unnest($4::uuid[], $5::uuid[], $6::text[]) as t(p, c, tids) on t.p = ins.project_id and t.c = ins.client_id',
       })}
     )
     select project_id, client_id from ins`,
    [input.agencyId, input.actorId, input.importId, input.projectIds, input.clientIds, input.taskIds],
  );
  return rows;
}

export interface NewInvitations {
  projectIds: string[];
  clientIds: string[];
  emails: string[];
  messages: Array<string | null>;
  tokenHashes: Buffer[];
  tokenCiphertexts: Buffer[];
  /** Per row, the task ids it assigns, comma-joined: recorded in its invitation.created event. */
  taskIds: string[];
  /**
   * Per row: its project was created by this batch, so none of its tasks has an assignee yet and the row's
   * assignments are inserted here, from `taskIds`, instead of being sent again to assignTasks.
   */
  assignHere: boolean[];
}

/**
 * Pending invitations (+ invitation.created, + the outbox email when sending, + the assignments of rows in
 * new projects); returns one row per invitation: its email id, and its (project, client) pair unless its
 * assignments went in here (the caller needs the pair only to tell which other assignments need an event).
 * The caller has checked that none of these (project, email) pairs has a pending invitation, so this is a
 * plain insert, not ON CONFLICT: one written concurrently since then fails the statement (23505) and the
 * batch is retried from its reads. The ids are drawn first so the event and the email are written from the
 * same rows without joining the inserted ones back.
 */
export async function createInvitations(
  db: Queryable,
  input: NewInvitations & { agencyId: string; actorId: string | null; importId: string; sendEmails: boolean; expiryDays: number },
): Promise<Array<{ project_id: string | null; client_id: string | null; email_id: string | null }>> {
  if (input.projectIds.length === 0) return [];
  const { rows } = await db.query<{ project_id: string | null; client_id: string | null; email_id: string | null }>(
    `with u as materialized (
       select onramp_new_id() as id, case when $4::boolean then onramp_new_id() end as email_id, u.*
         from unnest($6::uuid[], $7::uuid[], $8::text[], $9::text[], $10::bytea[], $11::bytea[], $12::text[], $13::boolean[])
              as u(p, c, email, message, th, tc, tids, here)
     ), ins as (
       insert into invitations (id, agency_id, project_id, client_id, email, created_by, message, expires_at, token_hash, token_ciphertext,
                                delivery_status, send_count, last_sent_at)
       select u.id, $1, u.p, u.c, u.email, $2, u.message, now() + make_interval(days => $5::int), u.th, u.tc,
              case when $4::boolean then 'queued' else 'not_sent' end, case when $4::boolean then 1 else 0 end,
              case when $4::boolean then now() end
         from u
     ), ev as (
       ${insertEventsSql('invitation.created', {
         agencyId: '$1',
         subjectId: 't.id',
         actorId: '$2',
         data: { project_id: 't.p', client_id: 't.c', email: 't.email', import_id: '$3::uuid', task_ids: rowTaskIdsJson },
         from: 'from u t',
       })}
     ), em as (
       insert into emails (id, agency_id, kind, to_address, invitation_id, client_id, token_ciphertext)
       select u.email_id, $1, 'invitation', u.email, u.id, u.c, u.tc from u where $4::boolean
     ), ta as (
       insert into task_assignees (task_id, client_id, agency_id)
       select t::uuid, u.c, $1 from u cross join lateral unnest(string_to_array(nullif(u.tids, ''), ',')) as t where u.here
     )
     select case when not u.here then u.p end as project_id, case when not u.here then u.c end as client_id, u.email_id from u`,
    [
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
    ],
  );
  return rows;
}

/**
 * Task assignments of a batch, except those createInvitations inserts. `fresh` marks those of a task this
 * batch created (its project is new), which cannot exist yet: a plain insert. The others may (an existing
 * member's task) and go through ON CONFLICT. `withEvent` marks those of rows whose client was already
 * invited or a member (no invitation.created / client.added_to_project event recorded them): each new one of
 * those gets a task.assigned event, as an assignment through the API does. Returns how many were created.
 */
export async function assignTasks(
  db: Queryable,
  input: { agencyId: string; actorId: string | null; taskIds: string[]; clientIds: string[]; withEvent: boolean[]; fresh: boolean[] },
): Promise<number> {
  if (input.taskIds.length === 0) return 0;
  const { rows } = await db.query<{ n: number }>(
    `with fresh as (
       insert into task_assignees (task_id, client_id, agency_id)
       select u.t, u.c, $1 from unnest($3::uuid[], $4::uuid[], $6::boolean[]) as u(t, c, f) where u.f
     ), ins as (
       insert into task_assignees (task_id, client_id, agency_id)
       select u.t, u.c, $1 from unnest($3::uuid[], $4::uuid[], $6::boolean[]) as u(t, c, f) where not u.f
       on conflict do nothing returning task_id, client_id
     ), ev as (
       ${insertEventsSql('task.assigned', {
         agencyId: '$1',
         subjectId: 'n.task_id',
         actorId: '$2',
         data: taskAssignedData,
         from: `from (select ins.task_id, ins.client_id
                 from ins join (select distinct u.t, u.c from unnest($3::uuid[], $4::uuid[], $5::boolean[]) as u(t, c, e) where u.e) w
                   on w.t = ins.task_id and w.c = ins.client_id
               union all
               select u.t, u.c from unnest($3::uuid[], $4::uuid[], $5::boolean[], $6::boolean[]) as u(t, c, e, f) where u.f and u.e) n
              join tasks t on t.id = n.task_id join clients c on c.id = n.client_id`,
       })}
     )
     select (select count(*) from ins)::int + (select count(*) from unnest($6::boolean[]) f where f)::int as n`,
    [input.agencyId, input.actorId, input.taskIds, input.clientIds, input.withEvent, input.fresh],
  );
  return rows[0]!.n;
}

/**
 * Whether this connection may skip the per-row foreign-key triggers for a transaction
 * (`session_replication_role`: a superuser, or PostgreSQL 15+'s `GRANT SET ON PARAMETER`).
 */
export async function canCheckReferencesBySet(db: Queryable): Promise<boolean> {
  try {
    await db.query('begin');
    await checkReferencesBySet(db);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === '42501') return false;
    throw err;
  } finally {
    await db.query('rollback');
  }
}

/**
 * For the rest of the transaction, foreign keys are not checked row by row (the triggers are off); the
 * batch checks them by set instead with lockReferencedRows before it commits. This is how pg_restore
 * --disable-triggers loads data. Nothing else is lost: unique and check constraints still apply, and the
 * cascades of other sessions' deletes still run (they are triggers of their sessions).
 */
export async function checkReferencesBySet(db: Queryable): Promise<void> {
  await db.query('set local session_replication_role = replica');
}

export interface ReferencedRows {
  agencyId: string;
  importId: string;
  firmUserIds: string[];
  templateIds: string[];
  projectIds: string[];
  taskIds: string[];
  clientIds: string[];
}

/**
 * What the foreign-key triggers would have done for a batch, once per parent instead of once per row: each
 * row the batch refers to must exist in the batch's agency, and is locked FOR KEY SHARE until commit so a
 * concurrent delete waits for the batch (and then cascades to what it wrote) instead of orphaning it.
 * Rows the batch's own transaction inserted are left out by the caller: no other transaction can see them,
 * let alone delete them. Returns the kinds of parent with a row missing; empty when all are there.
 */
export async function lockReferencedRows(db: Queryable, refs: ReferencedRows): Promise<string[]> {
  const distinct = (ids: string[]) => [...new Set(ids)];
  const sets = {
    agencies: [refs.agencyId],
    imports: [refs.importId],
    firm_users: distinct(refs.firmUserIds),
    templates: distinct(refs.templateIds),
    projects: distinct(refs.projectIds),
    tasks: distinct(refs.taskIds),
    clients: distinct(refs.clientIds),
  };
  const { rows } = await db.query<Record<keyof typeof sets, number>>(
    `select (select count(*) from (select 1 from agencies where id = any($2::uuid[]) and id = $1 for key share) s)::int as agencies,
            (select count(*) from (select 1 from imports where id = any($3::uuid[]) and agency_id = $1 for key share) s)::int as imports,
            (select count(*) from (select 1 from firm_users where id = any($4::uuid[]) and agency_id = $1 for key share) s)::int as firm_users,
            (select count(*) from (select 1 from templates where id = any($5::uuid[]) and agency_id = $1 for key share) s)::int as templates,
            (select count(*) from (select 1 from projects where id = any($6::uuid[]) and agency_id = $1 for key share) s)::int as projects,
            (select count(*) from (select 1 from tasks where id = any($7::uuid[]) and agency_id = $1 for key share) s)::int as tasks,
            (select count(*) from (select 1 from clients where id = any($8::uuid[]) and agency_id = $1 for key share) s)::int as clients`,
    [refs.agencyId, sets.agencies, sets.imports, sets.firm_users, sets.templates, sets.projects, sets.tasks, sets.clients],
  );
  const found = rows[0]!;
  return (Object.keys(sets) as Array<keyof typeof sets>).filter((k) => found[k] !== sets[k].length);
}

/** The applied rows' keys; the batch read them (findImportKeys) and kept only new ones: a plain insert. */
export async function insertImportKeys(db: Queryable, importId: string, keys: string[], emails: string[]): Promise<void> {
  if (keys.length === 0) return;
  await db.query(
    'insert into import_keys (import_id, project_key, email_normalized) select $1, * from unnest($2::text[], $3::text[])',
    [importId, keys, emails],
  );
}

export async function insertImportErrors(db: Queryable, importId: string, errors: Array<{ rowNumber: number; values: string[]; error: string }>): Promise<void> {
  if (errors.length === 0) return;
  await db.query(
    `insert into import_errors (import_id, row_number, values, error)
     select $1, u.r, u.v::jsonb, u.e from unnest($2::int[], $3::text[], $4::text[]) as u(r, v, e) on conflict do nothing`,
    [importId, errors.map((e) => e.rowNumber), errors.map((e) => JSON.stringify(e.values)), errors.map((e) => e.error)],
  );
}

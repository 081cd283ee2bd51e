import type { Pool, QueryConfig } from 'pg';
import type { Queryable } from '../db/pool.js';
import { insertEventsSql } from '../events/catalog.js';
import { taskAssignedData } from './events.js';
import type { ImportCounts } from '../read/resources.js';
import { rowTaskIdsJson } from './invitationInserts.js';
import { importColumns, type ImportRow } from '../read/imports.js';

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

/** The lanes of an import, made at its first run (every lane from the top). */
export async function createImportLanes(db: Queryable, importId: string, lanes: number): Promise<ImportLane[]> {
  await db.query('insert into import_lanes (import_id, lane, checkpoint_row) select $1, g, 0 from generate_series(0, $2::int - 1) g on conflict do nothing', [
    importId,
    lanes,
  ]);
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

/** One stored chunk of the upload, or null past the last one. */
export async function getImportChunk(db: Queryable, importId: string, chunkNo: number): Promise<Buffer | null> {
  // Binary results: the chunk arrives as its bytes, not as hex text twice its size for both ends to convert.
  // (`binary` is pg's option; its type definitions lack it.)
  const query = { text: 'select data from import_chunks where import_id = $1 and chunk_no = $2', values: [importId, chunkNo], binary: true } as QueryConfig;
  const { rows } = await (db as Pick<Pool, 'query'>).query<{ data: Buffer }>(query);
  return rows[0]?.data ?? null;
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
export async function findClientsAndFirmUsers(
  db: Queryable,
  agencyId: string,
  emails: string[],
): Promise<{ clients: ExistingClient[]; firmUsers: Set<string> }> {
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

export async function findTasksOfProjects(
  db: Queryable,
  agencyId: string,
  projectIds: string[],
): Promise<Array<{ id: string; project_id: string; key: string }>> {
  if (projectIds.length === 0) return [];
  const { rows } = await db.query<{ id: string; project_id: string; key: string }>(
    `select t.id, t.project_id, lower(t.title) as key
       from unnest($2::uuid[]) as u(p)
       cross join lateral (select id, project_id, title from tasks where project_id = u.p and agency_id = $1 offset 0) t`,
    [agencyId, projectIds],
  );
  return rows;
}

export interface KeyAndEmail {
  project_key: string;
  email: string;
}

/** Of (project key, email) pairs, those an earlier batch of this import applied (run state, see insertImportKeys). */
export async function findImportKeys(db: Queryable, importId: string, keys: string[], emails: string[]): Promise<KeyAndEmail[]> {
  if (keys.length === 0) return [];
  const { rows } = await db.query<KeyAndEmail>(
    `select u.pk as project_key, u.em as email
       from unnest($2::text[], $3::text[]) as u(pk, em)
       cross join lateral (select 1 from import_keys k where k.import_id = $1 and k.project_key = u.pk and k.email_normalized = u.em limit 1) k`,
    [importId, keys, emails],
  );
  return rows;
}

/**
 * Of (project, email) pairs, those with a pending invitation or a membership (keyed by the project key the
 * caller gave): in a project the import created, an earlier row of the import put them there.
 */
export async function findInvitedOrMembers(
  db: Queryable,
  agencyId: string,
  input: { keys: string[]; projectIds: string[]; emails: string[]; clientIds: Array<string | null> },
): Promise<KeyAndEmail[]> {
  if (input.keys.length === 0) return [];
  const { rows } = await db.query<KeyAndEmail>(
    `select u.k as project_key, u.em as email
       from unnest($2::text[], $3::uuid[], $4::text[], $5::uuid[]) as u(k, p, em, c)
      where exists (select 1 from invitations i where i.project_id = u.p and i.email_normalized = u.em and i.status = 'pending' and i.agency_id = $1)
         or exists (select 1 from memberships m where m.project_id = u.p and m.client_id = u.c and m.agency_id = $1)`,
    [agencyId, input.keys, input.projectIds, input.emails, input.clientIds],
  );
  return rows;
}

/** Of (project id, email) pairs, those with a live pending invitation. */
export async function findPendingInvitations(
  db: Queryable,
  agencyId: string,
  projectIds: string[],
  emails: string[],
): Promise<Array<{ project_id: string; email: string }>> {
  if (projectIds.length === 0) return [];
  const { rows } = await db.query<{ project_id: string; email: string }>(
    `select u.p as project_id, u.em as email
       from unnest($2::uuid[], $3::text[]) as u(p, em)
       cross join lateral (select 1 from invitations i
                            where i.project_id = u.p and i.email_normalized = u.em and i.status = 'pending' and i.agency_id = $1 and i.expires_at > now()
                            limit 1) i`,
    [agencyId, projectIds, emails],
  );
  return rows;
}

/** Of (project id, client id) pairs, those that are memberships. */
export async function findMemberships(
  db: Queryable,
  agencyId: string,
  projectIds: string[],
  clientIds: string[],
): Promise<Array<{ project_id: string; client_id: string }>> {
  if (projectIds.length === 0) return [];
  const { rows } = await db.query<{ project_id: string; client_id: string }>(
    `select u.p as project_id, u.c as client_id
       from unnest($2::uuid[], $3::uuid[]) as u(p, c)
       cross join lateral (select 1 from memberships m where m.project_id = u.p and m.client_id = u.c and m.agency_id = $1 limit 1) m`,
    [agencyId, projectIds, clientIds],
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
 * New clients start `invited`; returns the id of every email given. The batch read its clients first, so
 * the emails given are normally new and a plain insert writes them (no speculative insertion: a fifth less
 * database time for this statement, issue 17). Another lane of the same import (or the API) may be
 * inserting the same email right now: the plain insert then waits for that transaction and fails on the
 * unique index, and the statement runs again, from a savepoint, as an upsert whose DO UPDATE returns the
 * other transaction's row (DO NOTHING plus a re-read would miss a row committed after this statement's
 * snapshot; the update is a no-op write). Rows go in email order so two transactions inserting
 * overlapping sets lock them in the same order and cannot deadlock.
 */
export async function upsertClients(
  db: Queryable,
  agencyId: string,
  input: { emails: string[]; firstNames: string[]; lastNames: string[] },
): Promise<{ ids: Map<string, string>; inserted: Set<string> }> {
  const out = { ids: new Map<string, string>(), inserted: new Set<string>() };
  if (input.emails.length === 0) return out;
  const insert = (onConflict: string) =>
    db.query<{ id: string; email_normalized: string; inserted: boolean }>(
      `insert into clients (agency_id, email, first_name, last_name, status)
       select $1, u.email, u.first_name, u.last_name, 'invited' from unnest($2::text[], $3::text[], $4::text[]) as u(email, first_name, last_name)
        order by lower(btrim(u.email))
       ${onConflict}
       returning id, email_normalized, xmax = 0 as inserted`,
      [agencyId, input.emails, input.firstNames, input.lastNames],
    );
  let rows: Array<{ id: string; email_normalized: string; inserted: boolean }>;
  await db.query('savepoint import_clients');
  try {
    ({ rows } = await insert(''));
    await db.query('release savepoint import_clients');
  } catch (err) {
    if ((err as { code?: string }).code !== '23505' || (err as { constraint?: string }).constraint !== 'clients_agency_email_prefix_idx') throw err;
    await db.query('rollback to savepoint import_clients');
    // xmax is 0 on a row this statement inserted, set on one it updated (another transaction's).
    ({ rows } = await insert('on conflict (agency_id, email_normalized) do update set updated_at = clients.updated_at'));
    await db.query('release savepoint import_clients');
  }
  for (const r of rows) {
    out.ids.set(r.email_normalized, r.id);
    if (r.inserted) out.inserted.add(r.id);
  }
  return out;
}

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
         data: { project_id: 'ins.project_id', client_id: 'ins.client_id', import_id: '$3::uuid', task_ids: rowTaskIdsJson('t.tids') },
         from: 'from ins join unnest($4::uuid[], $5::uuid[], $6::text[]) as t(p, c, tids) on t.p = ins.project_id and t.c = ins.client_id',
       })}
     )
     select project_id, client_id from ins`,
    [input.agencyId, input.actorId, input.importId, input.projectIds, input.clientIds, input.taskIds],
  );
  return rows;
}

/**
 * Task assignments of a batch, except those insertInvitations inserts. `fresh` marks those of a task this
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
  await db.query('insert into import_keys (import_id, project_key, email_normalized) select $1, * from unnest($2::text[], $3::text[])', [
    importId,
    keys,
    emails,
  ]);
}

export async function insertImportErrors(
  db: Queryable,
  importId: string,
  errors: Array<{ rowNumber: number; values: string[]; error: string }>,
): Promise<void> {
  if (errors.length === 0) return;
  await db.query(
    `insert into import_errors (import_id, row_number, values, error)
     select $1, u.r, u.v::jsonb, u.e from unnest($2::int[], $3::text[], $4::text[]) as u(r, v, e) on conflict do nothing`,
    [importId, errors.map((e) => e.rowNumber), errors.map((e) => JSON.stringify(e.values)), errors.map((e) => e.error)],
  );
}

export interface DuplicateRow {
  rowNumber: number;
  values: string[];
  /** The applied row it repeats; null when that row is in an earlier batch (filled in when the import finishes). */
  duplicateOf: number | null;
  projectKey: string;
  email: string;
}

export async function insertImportDuplicates(db: Queryable, importId: string, rows: DuplicateRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `insert into import_duplicates (import_id, row_number, duplicate_of, project_key, email_normalized, values)
     select $1, u.r, u.d, u.k, u.em, u.v::jsonb from unnest($2::int[], $3::int[], $4::text[], $5::text[], $6::text[]) as u(r, d, k, em, v)
     on conflict do nothing`,
    [
      importId,
      rows.map((r) => r.rowNumber),
      rows.map((r) => r.duplicateOf),
      rows.map((r) => r.projectKey),
      rows.map((r) => r.email),
      rows.map((r) => JSON.stringify(r.values)),
    ],
  );
}

/** Duplicate rows whose first occurrence is not known yet (it was in an earlier batch). */
export async function findUnresolvedDuplicates(
  db: Queryable,
  importId: string,
): Promise<Array<{ row_number: number; project_key: string; email_normalized: string }>> {
  const { rows } = await db.query<{ row_number: number; project_key: string; email_normalized: string }>(
    'select row_number, project_key, email_normalized from import_duplicates where import_id = $1 and duplicate_of is null order by row_number',
    [importId],
  );
  return rows;
}

/** Row numbers this import did not apply (its error and duplicate rows). */
export async function findUnappliedRowNumbers(db: Queryable, importId: string): Promise<number[]> {
  const { rows } = await db.query<{ r: number }>(
    `select row_number as r from import_errors where import_id = $1 union all select row_number from import_duplicates where import_id = $1`,
    [importId],
  );
  return rows.map((x) => x.r);
}

export async function setDuplicateOrigins(db: Queryable, importId: string, rowNumbers: number[], origins: number[]): Promise<void> {
  if (rowNumbers.length === 0) return;
  await db.query(
    `update import_duplicates d set duplicate_of = u.o from unnest($2::int[], $3::int[]) as u(r, o)
      where d.import_id = $1 and d.row_number = u.r`,
    [importId, rowNumbers, origins],
  );
}

/** A page of the duplicate rows, in file order, after `afterRow`. */
export async function pageImportDuplicates(
  db: Queryable,
  importId: string,
  afterRow: number,
  limit: number,
): Promise<Array<{ row_number: number; duplicate_of: number | null; values: string[] }>> {
  const { rows } = await db.query<{ row_number: number; duplicate_of: number | null; values: string[] }>(
    'select row_number, duplicate_of, values from import_duplicates where import_id = $1 and row_number > $2 order by row_number limit $3',
    [importId, afterRow, limit],
  );
  return rows;
}

/** A page of the error rows, in file order, after `afterRow`. */
export async function pageImportErrors(
  db: Queryable,
  importId: string,
  afterRow: number,
  limit: number,
): Promise<Array<{ row_number: number; values: string[]; error: string }>> {
  const { rows } = await db.query<{ row_number: number; values: string[]; error: string }>(
    'select row_number, values, error from import_errors where import_id = $1 and row_number > $2 order by row_number limit $3',
    [importId, afterRow, limit],
  );
  return rows;
}

/** The header as uploaded (for errors.csv and duplicates.csv); null when the import is not the agency's. */
export async function getImportColumns(db: Queryable, agencyId: string, importId: string): Promise<{ columns: string[] | null } | null> {
  const { rows } = await db.query<{ columns: string[] | null }>('select columns from imports where agency_id = $1 and id = $2', [agencyId, importId]);
  return rows[0] ?? null;
}

export async function setImportColumns(db: Queryable, importId: string, columns: string[]): Promise<void> {
  await db.query('update imports set columns = $2 where id = $1', [importId, JSON.stringify(columns)]);
}

/** The upload is whole and checked: what the worker needs to run it. */
export async function finishUpload(
  db: Queryable,
  importId: string,
  upload: {
    sizeBytes: number;
    sha256: string;
    filename: string | null;
    dryRun: boolean;
    sendEmails: boolean;
    defaultTemplate: string | null;
    rowsTotal: number;
  },
): Promise<void> {
  await db.query(
    `update imports set size_bytes = $2, sha256 = $3, filename = $4, dry_run = $5, send_emails = $6, default_template = $7, rows_total = $8 where id = $1`,
    [importId, upload.sizeBytes, upload.sha256, upload.filename, upload.dryRun, upload.sendEmails, upload.defaultTemplate, upload.rowsTotal],
  );
}

/** Asks a queued or running import to stop; a queued one (no batch to finish) is cancelled at once. */
export async function requestCancel(db: Queryable, agencyId: string, importId: string): Promise<void> {
  await db.query(`update imports set cancel_requested = true where agency_id = $1 and id = $2`, [agencyId, importId]);
  await db.query(`update imports set status = 'cancelled', finished_at = now() where agency_id = $1 and id = $2 and status = 'queued'`, [agencyId, importId]);
}

export async function markImportCancelled(db: Queryable, importId: string): Promise<void> {
  await db.query(`update imports set status = 'cancelled', finished_at = now() where id = $1`, [importId]);
}

export async function markImportRunning(db: Queryable, importId: string): Promise<void> {
  await db.query(`update imports set status = 'running', started_at = coalesce(started_at, now()), error = null where id = $1`, [importId]);
}

/** Failed for good, with the reason GET /v1/imports/:id shows; a finished import is left as it is. */
export async function markImportFailed(db: Queryable, importId: string, reason: string): Promise<void> {
  await db.query(`update imports set status = 'failed', error = $2, finished_at = now() where id = $1 and status in ('queued', 'running')`, [importId, reason]);
}

/** The outbox emails of this import's invitations still waiting to be handed to the email worker. */
export async function findQueuedEmailsOfImport(db: Queryable, agencyId: string, importId: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `select e.id from events ev join emails e on e.invitation_id = ev.subject_id and e.agency_id = ev.agency_id
      where ev.agency_id = $1 and ev.type = 'invitation.created' and ev.data->>'import_id' = $2 and e.status = 'queued'`,
    [agencyId, importId],
  );
  return rows.map((r) => r.id);
}

/**
 * Projects found by name have no unique index, so two imports of one agency must not create the same one at
 * once. A lock per partition of project keys (in ascending order: no deadlock between lanes) lets the lanes
 * of one import, whose partitions are disjoint, write side by side. Held until the transaction ends.
 */
export async function lockProjectPartitions(db: Queryable, agencyId: string, partitions: number[]): Promise<void> {
  await db.query(
    `select count(pg_advisory_xact_lock(hashtextextended('onramp:projects:' || $1::text || ':' || p, 0)))
       from (select p from unnest($2::int[]) p order by p offset 0) s`,
    [agencyId, partitions],
  );
}

/** Completed: final counts and total; the run state (only needed while running) goes. */
export async function completeImport(db: Queryable, importId: string, rowsTotal: number, counts: ImportCounts): Promise<void> {
  await db.query(`update imports set status = 'completed', finished_at = now(), checkpoint_row = $2, rows_total = $2, counts = $3 where id = $1`, [
    importId,
    rowsTotal,
    JSON.stringify(counts),
  ]);
  await db.query('delete from import_keys where import_id = $1', [importId]);
  await db.query('delete from import_projects where import_id = $1', [importId]);
  await db.query('delete from import_lanes where import_id = $1', [importId]);
}

/** A dry run restarts from the top: nothing it did survived. */
export async function resetDryRun(db: Queryable, importId: string): Promise<void> {
  await db.query(`delete from import_errors where import_id = $1`, [importId]);
  await db.query(`delete from import_duplicates where import_id = $1`, [importId]);
  await db.query(`update imports set checkpoint_row = 0, counts = '{}' where id = $1`, [importId]);
}

/** A dry run's progress (outside its rolled-back transaction); returns whether a cancel was asked for. */
export async function recordDryRunProgress(db: Queryable, importId: string, rowsDone: number, counts: ImportCounts): Promise<boolean> {
  const { rows } = await db.query<{ cancel_requested: boolean }>(
    `update imports set checkpoint_row = $2, counts = $3 where id = $1 returning cancel_requested`,
    [importId, rowsDone, JSON.stringify(counts)],
  );
  return rows[0]?.cancel_requested ?? true;
}

export async function finishDryRun(db: Queryable, importId: string, outcome: 'completed' | 'cancelled', rowsDone: number, counts: ImportCounts): Promise<void> {
  await db.query(
    `update imports set status = $2, finished_at = now(), checkpoint_row = $3, counts = $4, rows_total = case when $2 = 'completed' then $3 else rows_total end where id = $1`,
    [importId, outcome, rowsDone, JSON.stringify(counts)],
  );
}

/** An agency's uploaded imports, newest first, after the cursor's `seq` (null: from the newest). */
export async function pageImports(db: Queryable, agencyId: string, beforeSeq: number | null, limit: number): Promise<ImportRow[]> {
  const { rows } = await db.query<ImportRow>(
    `select ${importColumns} from imports where agency_id = $1 and sha256 is not null and ($2::bigint is null or seq < $2) order by seq desc limit $3`,
    [agencyId, beforeSeq, limit],
  );
  return rows;
}

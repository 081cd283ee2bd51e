import { RetryableError, type Queryable } from '../../db/pool.js';
import * as sql from '../../sql/imports.js';
import { expireStaleInvitations, insertInvitations, type BatchInserted } from '../../sql/invitationInserts.js';
import { insertProjects } from '../../sql/projectInserts.js';
import type { ImportCounts } from '../../read/resources.js';
import { normaliseEmail } from '../inputs.js';
import { newInvitationTokens } from '../invitations.js';
import type { ImportRow } from './format.js';
import { isExternalKey, keyOfProject, keyValue, PairMap, PairSet, projectKeyOf, type ProjectKey } from './keys.js';
import type { CsvRecord } from './reader.js';

/**
 * The steps of one import batch (batch.ts runs them in this order). Each takes what the steps before it
 * decided and returns what the next ones need. Row-level problems are all decided (steps 1-4) before
 * anything is written (steps 5-9), so a bad row changes nothing; every write is one set-based statement
 * for the whole batch.
 */

/** What every step may need to know about the import. */
export interface StepContext {
  appSecret: string;
  importId: string;
  agencyId: string;
  actorId: string | null;
  sendEmails: boolean;
  expiryDays: number;
  /** Templates by lower(name), loaded once per run; null = no such template. */
  templates: Map<string, sql.TemplateInfo | null>;
}

/** Records a row as an error: it changes nothing and is listed in errors.csv. */
export type Fail = (rec: CsvRecord, error: string) => void;

/** A row that passed its own checks and is on its way. */
export interface Candidate {
  rec: CsvRecord;
  row: ImportRow;
  key: ProjectKey;
  email: string;
  template: sql.TemplateInfo | null;
}

const list = (items: string[], max = 10): string =>
  items.length === 0
    ? '(none)'
    : items
        .slice(0, max)
        .map((t) => `"${t}"`)
        .join(', ') + (items.length > max ? `, … (${items.length - max} more)` : '');

// ------------------------------------------------------------------------------------------ 1. templates

/** Step 1: each row's template (named, else the upload's default) must exist; loaded once per run. */
export async function resolveTemplates(
  db: Queryable,
  ctx: StepContext,
  rows: Array<{ rec: CsvRecord; row: ImportRow; templateName: string | null }>,
  fail: Fail,
): Promise<Candidate[]> {
  const wanted = new Set<string>();
  for (const p of rows) if (p.templateName && !ctx.templates.has(p.templateName.toLowerCase())) wanted.add(p.templateName.toLowerCase());
  if (wanted.size) {
    const found = await sql.findTemplatesByName(db, ctx.agencyId, [...wanted]);
    for (const name of wanted) ctx.templates.set(name, null);
    for (const t of found) ctx.templates.set(t.key, { id: t.id, name: t.name, tasks: t.tasks });
  }
  const candidates: Candidate[] = [];
  for (const p of rows) {
    const template = p.templateName ? (ctx.templates.get(p.templateName.toLowerCase()) ?? null) : null;
    if (p.templateName && !template) fail(p.rec, `unknown template "${p.templateName}"`);
    else candidates.push({ rec: p.rec, row: p.row, key: projectKeyOf(p.row), email: normaliseEmail(p.row.email), template });
  }
  return candidates;
}

// -------------------------------------------------------------------------------------------- 2. clients

export interface ScreenedClients {
  candidates: Candidate[];
  /** The agency's existing clients of the batch's emails, by normalised email. */
  existing: Map<string, sql.ExistingClient>;
}

/** Step 2: a firm user's address and a deactivated client are refused, as the invite API refuses them. */
export async function screenClients(db: Queryable, ctx: StepContext, candidates: Candidate[], fail: Fail): Promise<ScreenedClients> {
  const { clients, firmUsers } = await sql.findClientsAndFirmUsers(db, ctx.agencyId, [...new Set(candidates.map((c) => c.email))]);
  const existing = new Map(clients.map((c) => [c.email_normalized, c]));
  const kept = candidates.filter((c) => {
    if (firmUsers.has(c.email)) fail(c.rec, 'the email belongs to a firm user of this agency; firm users cannot be invited as clients');
    else if (existing.get(c.email)?.status === 'deactivated') fail(c.rec, 'client is deactivated; reactivate the client before inviting again');
    else return true;
    return false;
  });
  return { candidates: kept, existing };
}

// ------------------------------------------------------------------------------------------- 3. projects

/**
 * Where a row's project comes from: created by an earlier batch of this import, reused by an earlier
 * batch, an existing project this batch is the first of the import to use, or one this batch creates.
 */
type ProjectSource = 'created earlier' | 'reused earlier' | 'existing' | 'new';

export interface ProjectPlan {
  key: ProjectKey;
  source: ProjectSource;
  /** Null until written, for a project this batch creates. */
  id: string | null;
  templateId: string | null;
  /** For a project this batch creates: its name, external id and the titles of its template's tasks. */
  name: string;
  externalId: string | null;
  templateTitles: string[];
  /** Task ids by lower-cased title (known once the project exists). */
  taskIds: Map<string, string>;
  /** An applied row names it: only then is a new project created, or an existing one counted as reused. */
  used: boolean;
}

/** Created by this import (an earlier batch or this one): its template is fixed by its first row. */
const createdByImport = (p: Pick<ProjectPlan, 'source'>): boolean => p.source === 'created earlier' || p.source === 'new';
/** An earlier batch applied rows to it: a row here may repeat one of those. */
const touchedEarlier = (p: Pick<ProjectPlan, 'source'>): boolean => p.source === 'created earlier' || p.source === 'reused earlier';

/**
 * Step 3: each row's project. One this import already touched (its run state), else an existing one by
 * external id or by name, else one to create; the first row of a new project that passed the checks so
 * far decides its template.
 */
export async function planProjects(db: Queryable, ctx: StepContext, candidates: Candidate[]): Promise<Map<ProjectKey, ProjectPlan>> {
  const keys = [...new Set(candidates.map((c) => c.key))];
  const plans = new Map<ProjectKey, ProjectPlan>();
  const plan = (key: ProjectKey, source: ProjectSource, id: string | null, templateId: string | null): ProjectPlan => ({
    key,
    source,
    id,
    templateId,
    name: '',
    externalId: null,
    templateTitles: [],
    taskIds: new Map(),
    used: touchedEarlier({ source }),
  });
  for (const r of await sql.findImportProjects(db, ctx.importId, keys)) {
    const key = r.project_key as ProjectKey;
    plans.set(key, plan(key, r.created ? 'created earlier' : 'reused earlier', r.project_id, r.template_id));
  }
  const unknown = keys.filter((k) => !plans.has(k));
  if (unknown.length) {
    const found = await sql.findProjectsByKey(
      db,
      ctx.agencyId,
      unknown.filter(isExternalKey).map(keyValue),
      unknown.filter((k) => !isExternalKey(k)).map(keyValue),
    );
    for (const p of found) plans.set(p.key as ProjectKey, plan(p.key as ProjectKey, 'existing', p.id, p.template_id));
  }
  for (const c of candidates) {
    if (plans.has(c.key)) continue;
    plans.set(c.key, {
      ...plan(c.key, 'new', null, c.template?.id ?? null),
      name: c.row.project_name,
      externalId: c.row.project_external_id,
      templateTitles: (c.template?.tasks ?? []).map((t) => t.title),
    });
  }
  await loadTasks(
    db,
    ctx,
    [...plans.values()].filter((p) => p.id !== null),
  );
  return plans;
}

async function loadTasks(db: Queryable, ctx: StepContext, plans: ProjectPlan[]): Promise<void> {
  const byId = new Map(plans.map((p) => [p.id!, p]));
  for (const t of await sql.findTasksOfProjects(db, ctx.agencyId, [...byId.keys()])) byId.get(t.project_id)!.taskIds.set(t.key, t.id);
}

// --------------------------------------------------------------------------------------- 4. duplicates

/** A row that will be applied: into `plan`, tasks by title. */
export interface Applied extends Candidate {
  plan: ProjectPlan;
  /**
   * Lower-cased titles later rows of this batch that repeat this one bring and this row does not have:
   * assigned as an assignment would be (see writeAssignments).
   */
  extraTitles: Set<string>;
}

/** A repeat of a row an earlier batch applied, bringing tasks: they are assigned, the row is counted a duplicate. */
export interface RepeatWithTasks {
  candidate: Candidate;
  plan: ProjectPlan;
}

export interface Deduplicated {
  applied: Applied[];
  duplicates: sql.DuplicateRow[];
  repeatsWithTasks: RepeatWithTasks[];
}

/**
 * Step 4: rows checked against their project (its template, its tasks), then repeats dropped: the first
 * applied row of a (project, email) pair wins, across batches. A repeat is listed (duplicates.csv) with
 * the row it repeats; the tasks it names that the first did not are assigned, not dropped.
 */
export async function dropDuplicates(
  db: Queryable,
  ctx: StepContext,
  candidates: Candidate[],
  plans: Map<ProjectKey, ProjectPlan>,
  existing: Map<string, sql.ExistingClient>,
  fail: Fail,
): Promise<Deduplicated> {
  const templateNameOf = (id: string | null) => [...ctx.templates.values()].find((t) => t?.id === id)?.name ?? 'no template';
  const known = new Map<ProjectPlan, Set<string>>();
  const checked: Candidate[] = [];
  for (const c of candidates) {
    const plan = plans.get(c.key)!;
    if (createdByImport(plan) && c.template && c.template.id !== plan.templateId) {
      fail(
        c.rec,
        `project "${c.row.project_name}" was created by an earlier row of this import from template "${templateNameOf(plan.templateId)}"; this row names "${c.template.name}"`,
      );
      continue;
    }
    let titles = known.get(plan);
    if (!titles) known.set(plan, (titles = plan.source === 'new' ? new Set(plan.templateTitles.map((t) => t.toLowerCase())) : new Set(plan.taskIds.keys())));
    const unknown = c.row.tasks.filter((t) => !titles.has(t.toLowerCase()));
    if (unknown.length) {
      const has = plan.source === 'new' ? plan.templateTitles : [...plan.taskIds.keys()];
      fail(c.rec, `unknown task${unknown.length > 1 ? 's' : ''} ${list(unknown)} for project "${c.row.project_name}" (its tasks: ${list(has)})`);
      continue;
    }
    checked.push(c);
  }

  // Only a project an earlier batch applied rows to can hold an earlier row's pair. In one this import
  // created, everything there is the import's own work: the pair is a repeat if it has a pending
  // invitation or a membership. In one it reused, import_keys tells its rows from what was there before.
  const inCreated = checked.filter((c) => plans.get(c.key)!.source === 'created earlier');
  const inReused = checked.filter((c) => plans.get(c.key)!.source === 'reused earlier');
  const earlier = new PairSet();
  for (const r of await sql.findImportKeys(
    db,
    ctx.importId,
    inReused.map((c) => c.key),
    inReused.map((c) => c.email),
  ))
    earlier.add(r.project_key, r.email);
  const pairs = await sql.findInvitedOrMembers(db, ctx.agencyId, {
    keys: inCreated.map((c) => c.key),
    projectIds: inCreated.map((c) => plans.get(c.key)!.id!),
    emails: inCreated.map((c) => c.email),
    clientIds: inCreated.map((c) => existing.get(c.email)?.id ?? null),
  });
  for (const r of pairs) earlier.add(r.project_key, r.email);

  const first = new PairMap<Applied>();
  const out: Deduplicated = { applied: [], duplicates: [], repeatsWithTasks: [] };
  for (const c of checked) {
    const plan = plans.get(c.key)!;
    const seen = first.get(c.key, c.email);
    if (seen || earlier.has(c.key, c.email)) {
      out.duplicates.push({ rowNumber: c.rec.rowNumber, values: c.rec.values, duplicateOf: seen?.rec.rowNumber ?? null, projectKey: c.key, email: c.email });
      if (seen) {
        const has = new Set(seen.row.tasks.map((t) => t.toLowerCase()));
        for (const t of c.row.tasks) if (!has.has(t.toLowerCase())) seen.extraTitles.add(t.toLowerCase());
      } else if (c.row.tasks.length) out.repeatsWithTasks.push({ candidate: c, plan });
      continue;
    }
    plan.used = true;
    const a: Applied = { ...c, plan, extraTitles: new Set() };
    first.set(c.key, c.email, a);
    out.applied.push(a);
  }
  return out;
}

// ----------------------------------------------------------------------------------- 5. write projects

/**
 * Step 5: the new projects (with their template's tasks and a project.created event each), then the run
 * state of every project this batch is the first of the import to use. Returns the counts.
 */
export async function writeProjects(
  db: Queryable,
  ctx: StepContext,
  plans: Map<ProjectKey, ProjectPlan>,
): Promise<Pick<ImportCounts, 'projects_created' | 'projects_reused'>> {
  const toCreate = [...plans.values()].filter((p) => p.source === 'new' && p.used);
  const created = await insertProjects(db, {
    agencyId: ctx.agencyId,
    actorId: ctx.actorId,
    importId: ctx.importId,
    names: toCreate.map((p) => p.name),
    externalIds: toCreate.map((p) => p.externalId),
    templateIds: toCreate.map((p) => p.templateId),
  });
  const createdByKey = new Map(created.map((p) => [keyOfProject(p), p]));
  const lostRace: ProjectPlan[] = [];
  for (const p of toCreate) {
    const row = createdByKey.get(p.key);
    if (!row) lostRace.push(p);
    else {
      p.id = row.id;
      for (const t of row.tasks) p.taskIds.set(t.title.toLowerCase(), t.id);
    }
  }
  if (lostRace.length) {
    // Another writer created the same external id between our read and insert: use theirs.
    for (const f of await sql.findProjectsByKey(
      db,
      ctx.agencyId,
      lostRace.map((p) => p.externalId!),
      [],
    )) {
      Object.assign(plans.get(f.key as ProjectKey)!, { id: f.id, templateId: f.template_id, source: 'existing' satisfies ProjectSource });
    }
  }
  await loadTasks(
    db,
    ctx,
    lostRace.filter((p) => p.id !== null),
  );
  const firstUse = [...plans.values()].filter((p) => p.used && (p.source === 'new' || p.source === 'existing'));
  await sql.insertImportProjects(
    db,
    ctx.importId,
    firstUse.map((p) => ({ project_key: p.key, project_id: p.id!, template_id: p.templateId, created: p.source === 'new' })),
  );
  return { projects_created: toCreate.length - lostRace.length, projects_reused: firstUse.filter((p) => p.source === 'existing').length };
}

/** The task ids a row assigns, from its project's tasks. */
export function taskIdsOf(plan: ProjectPlan, titles: Iterable<string>): string[] {
  const ids: string[] = [];
  for (const title of titles) {
    const id = plan.taskIds.get(title.toLowerCase());
    // Only missing when another writer created the project under us with other tasks. (The row schema
    // already made a row's titles unique, case-insensitively.)
    if (id !== undefined) ids.push(id);
  }
  return ids;
}

// ------------------------------------------------------------------------------------ 6. write clients

export interface ClientIds {
  /** Client id by normalised email, for every applied row. */
  byEmail: Map<string, string>;
  /** Ids of the clients this batch inserted (nobody else can see them yet). */
  inserted: Set<string>;
}

/** Step 6: new clients (status invited). An existing inactive one becomes invited with its invitation (step 7). */
export async function writeClients(db: Queryable, ctx: StepContext, applied: Applied[], existing: Map<string, sql.ExistingClient>): Promise<ClientIds> {
  const firstByEmail = new Map<string, Applied>();
  for (const a of applied) if (!existing.has(a.email) && !firstByEmail.has(a.email)) firstByEmail.set(a.email, a);
  const fresh = [...firstByEmail.values()];
  const { ids, inserted } = await sql.upsertClients(db, ctx.agencyId, {
    emails: fresh.map((c) => c.row.email),
    firstNames: fresh.map((c) => c.row.first_name),
    lastNames: fresh.map((c) => c.row.last_name),
  });
  for (const c of existing.values()) ids.set(c.email_normalized, c.id);
  return { byEmail: ids, inserted };
}

// ---------------------------------------------------------------------------- 7. invitations, members

export interface Brought {
  counts: Pick<ImportCounts, 'clients_invited' | 'already_invited' | 'clients_added' | 'already_members' | 'assignments'>;
  emailIds: string[];
  /** Rows whose assignments went in with their invitation (a project this batch created). */
  assignedWithInvitation: Set<Applied>;
  /** (project id, client id) of rows whose event (invitation.created, client.added_to_project) records their tasks. */
  recorded: PairSet;
}

/**
 * Step 7: an active client joins the project directly (membership, client.added_to_project); anyone else
 * gets a pending invitation unless a live one exists (one past its expiry is expired first), with its
 * event and, when sending, its outbox email. The event of a row that brings its client in carries the
 * task ids the row assigns.
 */
export async function writeInvitations(
  db: Queryable,
  ctx: StepContext,
  applied: Applied[],
  existing: Map<string, sql.ExistingClient>,
  clientIds: ClientIds,
  rowTaskIds: Map<Applied, string[]>,
  tokens: Array<{ hash: Buffer; ciphertext: Buffer }>,
): Promise<Brought> {
  const clientOf = (a: Applied) => clientIds.byEmail.get(a.email)!;
  const joinedIds = (a: Applied) => rowTaskIds.get(a)!.join(',');
  const toAdd = applied.filter((a) => existing.get(a.email)?.status === 'active');
  const toInvite = applied.filter((a) => existing.get(a.email)?.status !== 'active');

  const members = new PairSet(
    (
      await sql.findMemberships(
        db,
        ctx.agencyId,
        toAdd.map((a) => a.plan.id!),
        toAdd.map(clientOf),
      )
    ).map((m) => [m.project_id, m.client_id] as const),
  );
  const addNow = toAdd.filter((a) => !members.has(a.plan.id!, clientOf(a)));
  const added = await sql.addMemberships(db, {
    agencyId: ctx.agencyId,
    actorId: ctx.actorId,
    importId: ctx.importId,
    projectIds: addNow.map((a) => a.plan.id!),
    clientIds: addNow.map(clientOf),
    taskIds: addNow.map(joinedIds),
  });

  const old = toInvite.filter((a) => a.plan.source !== 'new');
  await expireStaleInvitations(
    db,
    ctx.agencyId,
    old.map((a) => a.plan.id!),
    old.map((a) => a.email),
  );
  const pending = new PairSet(
    (
      await sql.findPendingInvitations(
        db,
        ctx.agencyId,
        old.map((a) => a.plan.id!),
        old.map((a) => a.email),
      )
    ).map((p) => [p.project_id, p.email] as const),
  );
  const inviteNow = toInvite.filter((a) => !pending.has(a.plan.id!, a.email));
  const links = tokens.slice(0, inviteNow.length);
  if (links.length < inviteNow.length) links.push(...newInvitationTokens(ctx.appSecret, inviteNow.length - links.length));
  let invitations: BatchInserted[];
  try {
    invitations = await insertInvitations(
      db,
      {
        agencyId: ctx.agencyId,
        actorId: ctx.actorId,
        importId: ctx.importId,
        sendEmails: ctx.sendEmails,
        expiryDays: ctx.expiryDays,
        projectIds: inviteNow.map((a) => a.plan.id!),
        clientIds: inviteNow.map(clientOf),
        emails: inviteNow.map((a) => a.row.email.trim()),
        messages: inviteNow.map((a) => a.row.message),
        tokenHashes: links.map((t) => t.hash),
        tokenCiphertexts: links.map((t) => t.ciphertext),
        taskIds: inviteNow.map(joinedIds),
        assignHere: inviteNow.map((a) => a.plan.source === 'new'),
        clientInactive: inviteNow.map((a) => existing.get(a.email)?.status === 'inactive'),
      },
      'batch',
    );
  } catch (err) {
    // A pending invitation for one of these pairs was written since this batch read (the API, concurrently):
    // the batch runs again from its reads, and that row is then "already invited".
    if ((err as { code?: string; constraint?: string }).code === '23505' && (err as { constraint?: string }).constraint === 'invitations_one_pending_idx') {
      throw new RetryableError('a pending invitation for a row of this batch was created concurrently; retrying the batch');
    }
    throw err;
  }

  // Most of an import's assignments: each goes in with its row's invitation (plain inserts, see insertInvitations).
  const assignedWithInvitation = new Set(inviteNow.filter((a) => a.plan.source === 'new'));
  let assignments = 0;
  for (const a of assignedWithInvitation) assignments += rowTaskIds.get(a)!.length;
  const recorded = new PairSet();
  for (const r of [...invitations, ...added]) if (r.project_id !== null && r.client_id !== null) recorded.add(r.project_id, r.client_id);
  return {
    counts: {
      clients_added: added.length,
      already_members: toAdd.length - added.length,
      clients_invited: invitations.length,
      already_invited: toInvite.length - invitations.length,
      assignments,
    },
    emailIds: invitations.map((i) => i.email_id).filter((id): id is string => id !== null),
    assignedWithInvitation,
    recorded,
  };
}

// -------------------------------------------------------------------------------- 8. write assignments

/**
 * Step 8: the assignments not made with an invitation: rows whose client was already invited or a member
 * (a task.assigned event each, as assigning through the API writes), rows of active clients added to a
 * project, and the tasks a repeated row brings that its first occurrence did not have (assigned as an
 * assignment would be, with a task.assigned event each; what is already assigned is left as it is). Then
 * the run state of rows into projects the import did not create. Returns the number of assignments made.
 */
export async function writeAssignments(
  db: Queryable,
  ctx: StepContext,
  applied: Applied[],
  repeats: RepeatWithTasks[],
  clientIds: ClientIds,
  rowTaskIds: Map<Applied, string[]>,
  brought: Brought,
): Promise<number> {
  const taskIds: string[] = [];
  const assignees: string[] = [];
  const withEvent: boolean[] = [];
  const fresh: boolean[] = [];
  const push = (ids: string[], clientId: string, event: boolean, isFresh: boolean) => {
    for (const id of ids) {
      taskIds.push(id);
      assignees.push(clientId);
      withEvent.push(event);
      fresh.push(isFresh);
    }
  };
  for (const a of applied) {
    const clientId = clientIds.byEmail.get(a.email)!;
    if (!brought.assignedWithInvitation.has(a)) {
      // A task of a project this batch created has no assignee yet, and rows were deduplicated: a plain insert.
      push(rowTaskIds.get(a)!, clientId, !brought.recorded.has(a.plan.id!, clientId), a.plan.source === 'new');
    }
    // Disjoint from the row's own tasks, so never the same assignment twice in one statement.
    if (a.extraTitles.size) push(taskIdsOf(a.plan, a.extraTitles), clientId, true, false);
  }
  for (const r of repeats) {
    const clientId = clientIds.byEmail.get(r.candidate.email);
    if (clientId !== undefined) push(taskIdsOf(r.plan, r.candidate.row.tasks), clientId, true, false);
  }
  const made = await sql.assignTasks(db, { agencyId: ctx.agencyId, actorId: ctx.actorId, taskIds, clientIds: assignees, withEvent, fresh });
  const intoReused = applied.filter((a) => !createdByImport(a.plan));
  await sql.insertImportKeys(
    db,
    ctx.importId,
    intoReused.map((a) => a.key),
    intoReused.map((a) => a.email),
  );
  return made;
}

// ---------------------------------------------------------------------------------- 9. lock references

/**
 * Step 9 (with set-based foreign-key checks): every row the batch refers to that existed before its
 * transaction (projects and their tasks it did not create, clients it did not insert, the template of a
 * new project, the importing user) must still exist in the agency, and is locked FOR KEY SHARE until the
 * commit, as the per-row triggers would. One gone means someone deleted it meanwhile: retry the batch.
 */
export async function lockReferences(
  db: Queryable,
  ctx: StepContext,
  plans: Map<ProjectKey, ProjectPlan>,
  applied: Applied[],
  repeats: RepeatWithTasks[],
  clientIds: ClientIds,
  rowTaskIds: Map<Applied, string[]>,
): Promise<void> {
  const before = applied.filter((a) => a.plan.source !== 'new');
  const missing = await sql.lockReferencedRows(db, {
    agencyId: ctx.agencyId,
    importId: ctx.importId,
    firmUserIds: ctx.actorId ? [ctx.actorId] : [],
    templateIds: [...plans.values()].flatMap((p) => (p.source === 'new' && p.used && p.templateId ? [p.templateId] : [])),
    projectIds: [...before.map((a) => a.plan.id!), ...repeats.map((r) => r.plan.id!)],
    taskIds: [
      ...before.flatMap((a) => rowTaskIds.get(a)!),
      ...applied.flatMap((a) => (a.plan.source !== 'new' ? taskIdsOf(a.plan, a.extraTitles) : [])),
      ...repeats.flatMap((r) => taskIdsOf(r.plan, r.candidate.row.tasks)),
    ],
    clientIds: [...applied.map((a) => a.email), ...repeats.map((r) => r.candidate.email)]
      .map((e) => clientIds.byEmail.get(e))
      .filter((id): id is string => id !== undefined && !clientIds.inserted.has(id)),
  });
  if (missing.length) throw new RetryableError(`rows this batch refers to were deleted while it was written (${missing.join(', ')}); retrying the batch`);
}

import type { Queryable } from '../../db/pool.js';
import { newInvitationTokens } from '../invitations.js';
import { emptyImportCounts, type ImportCounts } from '../../read/resources.js';
import { withArrayLiterals } from '../../sql/arrays.js';
import * as sql from '../../sql/imports.js';
import { isBlankRecord, type CsvRecord } from './reader.js';
import type { ImportProfile } from './profile.js';
import { normaliseEmail, parseImportRow, projectKeyOf, type HeaderMap, type ImportRow } from './format.js';

export interface BatchContext {
  appSecret: string;
  importId: string;
  agencyId: string;
  actorId: string | null;
  sendEmails: boolean;
  defaultTemplate: string | null;
  expiryDays: number;
  header: HeaderMap;
  /** Templates by lower(name), loaded once per run; null = no such template. */
  templates: Map<string, sql.TemplateInfo | null>;
  /** Foreign keys checked once per parent by lockReferencedRows rather than by a trigger per row written. */
  checkReferencesBySet: boolean;
  profile?: ImportProfile;
}

/**
 * A row a batch refers to was deleted while the batch was being written. Carries the serialisation-failure
 * code so the batch's transaction is retried: the retry reads afresh and no longer refers to it.
 */
export class ReferenceGoneError extends Error {
  override name = 'ReferenceGoneError';
  readonly code = '40001';
  constructor(kinds: string[]) {
    super(`rows this batch refers to were deleted while it was written (${kinds.join(', ')}); retrying the batch`);
  }
}

export interface RowError {
  rowNumber: number;
  values: string[];
  error: string;
}

export interface BatchResult {
  counts: ImportCounts;
  errors: RowError[];
  emailIds: string[];
}

/** A record the runner already parsed to route it to a lane: the batch does not parse it again. */
export interface RoutedRecord extends CsvRecord {
  parsed?: ReturnType<typeof parseImportRow>;
}

interface Candidate {
  rec: CsvRecord;
  row: ImportRow;
  key: string;
  email: string;
  template: sql.TemplateInfo | null;
}


const list = (items: string[], max = 10): string =>
  items.length === 0 ? '(none)' : items.slice(0, max).map((t) => `"${t}"`).join(', ') + (items.length > max ? `, … (${items.length - max} more)` : '');

/** A batch after the checks that need no database: ready for applyBatch. */
export interface PreparedBatch {
  /** Record number of the batch's last record (blank or not): the checkpoint after it commits. */
  lastRowNumber: number;
  counts: ImportCounts;
  errors: RowError[];
  parsedRows: Array<{ rec: CsvRecord; row: ImportRow; templateName: string | null }>;
  /** One invitation token (hash and ciphertext) per parsed row, drawn from as invitations are made. */
  tokens: Array<{ hash: Buffer; ciphertext: Buffer }>;
}

// Lets I/O callbacks (a batch's SQL results, the email enqueue) run between slices of CPU work.
const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));
const SLICE = 250;

/**
 * Step 1 of a batch, which needs no database: the shape of each row (the zod schema shared with the API
 * rules) and its invitation token. The runner does this for the next batch while the current one's SQL
 * runs, in slices so the current batch's results are not kept waiting.
 */
export async function prepareBatch(ctx: Pick<BatchContext, 'appSecret' | 'header' | 'defaultTemplate' | 'profile'>, records: CsvRecord[]): Promise<PreparedBatch> {
  const counts = emptyImportCounts();
  const errors: RowError[] = [];
  const parsedRows: PreparedBatch['parsedRows'] = [];
  let spent = 0;
  let sliceStart = performance.now();
  for (let i = 0; i < records.length; i++) {
    if (i % SLICE === SLICE - 1) {
      spent += performance.now() - sliceStart;
      await yieldToIo();
      sliceStart = performance.now();
    }
    const rec = records[i]!;
    if (isBlankRecord(rec.values)) continue;
    counts.rows++;
    const parsed = (rec as RoutedRecord).parsed ?? parseImportRow(rec.values, ctx.header);
    if (!parsed.ok) {
      errors.push({ rowNumber: rec.rowNumber, values: rec.values, error: parsed.error });
      continue;
    }
    parsedRows.push({ rec, row: parsed.row, templateName: parsed.row.template ?? ctx.defaultTemplate });
  }
  spent += performance.now() - sliceStart;
  ctx.profile?.add('validate (zod)', spent);

  const tTokens = performance.now();
  const tokens: PreparedBatch['tokens'] = [];
  // Most rows of an import become invitations; the few tokens left unused by a batch are just dropped.
  for (let i = 0; i < parsedRows.length; i += SLICE) {
    if (i > 0) await yieldToIo();
    tokens.push(...newInvitationTokens(ctx.appSecret, Math.min(SLICE, parsedRows.length - i)));
  }
  ctx.profile?.add('tokens', performance.now() - tTokens);
  return { lastRowNumber: records[records.length - 1]!.rowNumber, counts, errors, parsedRows, tokens };
}

/**
 * Applies one batch of rows with the rules of Create Project and the invite API, set-based: a fixed number
 * of statements per batch whatever its size. Row-level problems are decided from reads before any write,
 * so a bad row changes nothing; writes are conflict-safe so a replayed batch creates nothing twice.
 */
export async function applyBatch(rawDb: Queryable, ctx: BatchContext, batch: CsvRecord[] | PreparedBatch): Promise<BatchResult> {
  const fast = withArrayLiterals(rawDb);
  const db = ctx.profile ? ctx.profile.queryable(fast) : fast;
  const prepared = Array.isArray(batch) ? await prepareBatch(ctx, batch) : batch;
  const counts = { ...prepared.counts };
  const errors: RowError[] = [...prepared.errors];
  const fail = (rec: CsvRecord, error: string) => errors.push({ rowNumber: rec.rowNumber, values: rec.values, error });

  // 1. Templates named by the rows (loaded once per run).
  let candidates: Candidate[] = [];
  const parsedRows = prepared.parsedRows;
  const wanted = new Set<string>();
  for (const p of parsedRows) {
    if (p.templateName && !ctx.templates.has(p.templateName.toLowerCase())) wanted.add(p.templateName.toLowerCase());
  }
  if (wanted.size) {
    const found = await sql.findTemplatesByName(db, ctx.agencyId, [...wanted]);
    for (const name of wanted) ctx.templates.set(name, null);
    for (const t of found) ctx.templates.set(t.key, { id: t.id, name: t.name, tasks: t.tasks });
  }
  for (const p of parsedRows) {
    const template = p.templateName ? (ctx.templates.get(p.templateName.toLowerCase()) ?? null) : null;
    if (p.templateName && !template) {
      fail(p.rec, `unknown template "${p.templateName}"`);
      continue;
    }
    candidates.push({ rec: p.rec, row: p.row, key: projectKeyOf(p.row), email: normaliseEmail(p.row.email), template });
  }

  // 2. Clients: deactivated ones and firm users' emails are refused.
  const { clients, firmUsers } = await sql.findClientsAndFirmUsers(db, ctx.agencyId, [...new Set(candidates.map((c) => c.email))]);
  const clientByEmail = new Map(clients.map((c) => [c.email_normalized, c]));
  candidates = candidates.filter((c) => {
    if (firmUsers.has(c.email)) fail(c.rec, 'the email belongs to a firm user of this agency; firm users cannot be invited as clients');
    else if (clientByEmail.get(c.email)?.status === 'deactivated') fail(c.rec, 'client is deactivated; reactivate the client before inviting again');
    else return true;
    return false;
  });

  // 3. Projects: the ones this import already touched, then existing ones, else to be created; the first
  //    row of a new project that passed the checks above decides its template.
  const keys = [...new Set(candidates.map((c) => c.key))];
  interface ProjectPlan {
    key: string;
    id: string | null;
    templateId: string | null;
    /** Created by this import (earlier batch or this one): its template is fixed. */
    created: boolean;
    /** An earlier batch of this import applied rows to it: a row here may duplicate one of those. */
    touchedEarlier: boolean;
    isNew: boolean;
    name: string;
    externalId: string | null;
    template: sql.TemplateInfo | null;
    taskIds: Map<string, string>;
    taskTitles: string[];
    used: boolean;
    /** Lower-cased titles a row may name, built once per project per batch. */
    known?: Set<string>;
  }
  const plans = new Map<string, ProjectPlan>();
  for (const r of await sql.findImportProjects(db, ctx.importId, keys)) {
    plans.set(r.project_key, { key: r.project_key, id: r.project_id, templateId: r.template_id, created: r.created, touchedEarlier: true, isNew: false, name: '', externalId: null, template: null, taskIds: new Map(), taskTitles: [], used: true });
  }
  const unknownKeys = keys.filter((k) => !plans.has(k));
  const reused = new Set<string>();
  if (unknownKeys.length) {
    const existing = await sql.findProjectsByKey(
      db,
      ctx.agencyId,
      unknownKeys.filter((k) => k.startsWith('x:')).map((k) => k.slice(2)),
      unknownKeys.filter((k) => k.startsWith('n:')).map((k) => k.slice(2)),
    );
    for (const p of existing) {
      plans.set(p.key, { key: p.key, id: p.id, templateId: p.template_id, created: false, touchedEarlier: false, isNew: false, name: '', externalId: null, template: null, taskIds: new Map(), taskTitles: [], used: false });
      reused.add(p.key);
    }
  }
  for (const c of candidates) {
    if (plans.has(c.key)) continue;
    plans.set(c.key, {
      key: c.key,
      id: null,
      templateId: c.template?.id ?? null,
      created: true,
      touchedEarlier: false,
      isNew: true,
      name: c.row.project_name,
      externalId: c.row.project_external_id,
      template: c.template,
      taskIds: new Map(),
      taskTitles: (c.template?.tasks ?? []).map((t) => t.title),
      used: false,
    });
  }
  const existingIds = [...plans.values()].filter((p) => p.id).map((p) => p.id!);
  const planById = new Map([...plans.values()].filter((p) => p.id).map((p) => [p.id!, p]));
  for (const t of await sql.findTasksOfProjects(db, ctx.agencyId, existingIds)) planById.get(t.project_id)!.taskIds.set(t.key, t.id);

  // 4. Template consistency and task titles, then duplicates (first applied row wins, across batches).
  const templateNameOf = (id: string | null) => [...ctx.templates.values()].find((t) => t?.id === id)?.name ?? 'no template';
  // Only a project an earlier batch applied rows to can hold an earlier row's pair. In one this import
  // created, everything there is the import's own work: the pair is a duplicate if it has a pending
  // invitation or a membership. In one it reused, import_keys tells its rows from what was there before.
  const inCreated = candidates.filter((c) => plans.get(c.key)!.touchedEarlier && plans.get(c.key)!.created);
  const inReused = candidates.filter((c) => plans.get(c.key)!.touchedEarlier && !plans.get(c.key)!.created);
  const earlier = new Set([
    ...(await sql.findImportKeys(db, ctx.importId, inReused.map((c) => c.key), inReused.map((c) => c.email))),
    ...(await sql.findInvitedOrMembers(db, ctx.agencyId, {
      keys: inCreated.map((c) => c.key),
      projectIds: inCreated.map((c) => plans.get(c.key)!.id!),
      emails: inCreated.map((c) => c.email),
      clientIds: inCreated.map((c) => clientByEmail.get(c.email)?.id ?? null),
    })),
  ]);
  const seen = new Set<string>();
  const applied: Array<Candidate & { plan: ProjectPlan }> = [];
  for (const c of candidates) {
    const plan = plans.get(c.key)!;
    if (plan.created && c.template && c.template.id !== plan.templateId) {
      fail(c.rec, `project "${c.row.project_name}" was created by an earlier row of this import from template "${templateNameOf(plan.templateId)}"; this row names "${c.template.name}"`);
      continue;
    }
    plan.known ??= plan.isNew ? new Set(plan.taskTitles.map((t) => t.toLowerCase())) : new Set(plan.taskIds.keys());
    const known = plan.known;
    const unknown = c.row.tasks.filter((t) => !known.has(t.toLowerCase()));
    if (unknown.length) {
      const has = plan.isNew ? plan.taskTitles : [...plan.taskIds.keys()];
      fail(c.rec, `unknown task${unknown.length > 1 ? 's' : ''} ${list(unknown)} for project "${c.row.project_name}" (its tasks: ${list(has)})`);
      continue;
    }
    const dupKey = `${c.key}\n${c.email}`;
    if (seen.has(dupKey) || earlier.has(dupKey)) {
      counts.duplicates++;
      continue;
    }
    seen.add(dupKey);
    plan.used = true;
    applied.push({ ...c, plan });
  }
  counts.errors = errors.length;
  if (applied.length === 0) return { counts, errors, emailIds: [] };

  // 5. Writes. Projects first (with their tasks and events), then clients, then memberships/invitations, then tasks.
  if (ctx.checkReferencesBySet) await sql.checkReferencesBySet(db);
  const toCreate = [...plans.values()].filter((p) => p.isNew && p.used);
  const created = await sql.createProjects(db, {
    agencyId: ctx.agencyId,
    actorId: ctx.actorId,
    importId: ctx.importId,
    names: toCreate.map((p) => p.name),
    externalIds: toCreate.map((p) => p.externalId),
    templateIds: toCreate.map((p) => p.templateId),
  });
  const createdByKey = new Map(created.map((p) => [p.external_id !== null ? `x:${p.external_id}` : `n:${p.name}`, p]));
  const lostRace: ProjectPlan[] = [];
  for (const p of toCreate) {
    const row = createdByKey.get(p.key);
    if (row) {
      p.id = row.id;
      counts.projects_created++;
    } else lostRace.push(p);
  }
  if (lostRace.length) {
    // Another writer created the same external id between our read and insert: use theirs.
    const found = await sql.findProjectsByKey(db, ctx.agencyId, lostRace.map((p) => p.externalId!), []);
    for (const f of found) {
      const p = plans.get(f.key)!;
      Object.assign(p, { id: f.id, templateId: f.template_id, created: false, isNew: false });
      reused.add(f.key);
    }
  }
  const byId = new Map([...plans.values()].filter((p) => p.id).map((p) => [p.id!, p]));
  const refetch = [...toCreate.filter((p) => p.isNew).map((p) => p.id!), ...lostRace.map((p) => p.id!)];
  for (const t of await sql.findTasksOfProjects(db, ctx.agencyId, refetch)) byId.get(t.project_id)!.taskIds.set(t.key, t.id);
  const touched = [...plans.values()].filter((p) => p.used && (p.isNew || reused.has(p.key)));
  counts.projects_reused += touched.filter((p) => reused.has(p.key)).length;
  await sql.insertImportProjects(
    db,
    ctx.importId,
    touched.map((p) => ({ project_key: p.key, project_id: p.id!, template_id: p.templateId, created: p.isNew })),
  );

  const firstByEmail = new Map<string, Candidate>();
  for (const a of applied) if (!clientByEmail.has(a.email) && !firstByEmail.has(a.email)) firstByEmail.set(a.email, a);
  const fresh = [...firstByEmail.values()];
  const { ids: clientIds, inserted: insertedClients } = await sql.upsertClients(db, ctx.agencyId, {
    emails: fresh.map((c) => c.row.email),
    firstNames: fresh.map((c) => c.row.first_name),
    lastNames: fresh.map((c) => c.row.last_name),
  });
  for (const c of clients) clientIds.set(c.email_normalized, c.id);
  await sql.markClientsInvited(db, ctx.agencyId, clients.filter((c) => c.status === 'inactive').map((c) => c.id));

  // The tasks each row assigns. A row that brings its client into the project (an invitation, or a
  // membership for an active client) records them in that one event; see assignTasks for the rest.
  const rowTaskIds = new Map<Candidate, string[]>();
  for (const a of applied) {
    const ids: string[] = [];
    for (const title of a.row.tasks) {
      const taskId = a.plan.taskIds.get(title.toLowerCase());
      // Only missing when another writer created the project under us with other tasks. (The row schema
      // already made a row's titles unique, case-insensitively.)
      if (taskId !== undefined) ids.push(taskId);
    }
    rowTaskIds.set(a, ids);
  }
  const taskIdsOf = (a: Candidate) => rowTaskIds.get(a)!.join(',');

  const toAdd = applied.filter((a) => clientByEmail.get(a.email)?.status === 'active');
  const toInvite = applied.filter((a) => clientByEmail.get(a.email)?.status !== 'active');
  const members = await sql.findMemberships(db, ctx.agencyId, toAdd.map((a) => a.plan.id!), toAdd.map((a) => clientIds.get(a.email)!));
  const addNow = toAdd.filter((a) => !members.has(`${a.plan.id}\n${clientIds.get(a.email)}`));
  counts.already_members += toAdd.length - addNow.length;
  const added = await sql.addMemberships(db, {
    agencyId: ctx.agencyId,
    actorId: ctx.actorId,
    importId: ctx.importId,
    projectIds: addNow.map((a) => a.plan.id!),
    clientIds: addNow.map((a) => clientIds.get(a.email)!),
    taskIds: addNow.map(taskIdsOf),
  });
  counts.clients_added += added.length;
  counts.already_members += addNow.length - added.length;

  const oldProjects = toInvite.filter((a) => !a.plan.isNew);
  await sql.expireStaleInvitations(db, ctx.agencyId, oldProjects.map((a) => a.plan.id!), oldProjects.map((a) => a.email));
  const pending = await sql.findPendingInvitations(db, ctx.agencyId, oldProjects.map((a) => a.plan.id!), oldProjects.map((a) => a.email));
  const inviteNow = toInvite.filter((a) => !pending.has(`${a.plan.id}\n${a.email}`));
  const tokens = prepared.tokens.slice(0, inviteNow.length);
  if (tokens.length < inviteNow.length) tokens.push(...newInvitationTokens(ctx.appSecret, inviteNow.length - tokens.length));
  const invitations = await sql.createInvitations(db, {
    agencyId: ctx.agencyId,
    actorId: ctx.actorId,
    importId: ctx.importId,
    sendEmails: ctx.sendEmails,
    expiryDays: ctx.expiryDays,
    projectIds: inviteNow.map((a) => a.plan.id!),
    clientIds: inviteNow.map((a) => clientIds.get(a.email)!),
    emails: inviteNow.map((a) => a.row.email.trim()),
    messages: inviteNow.map((a) => a.row.message),
    tokenHashes: tokens.map((t) => t.hash),
    tokenCiphertexts: tokens.map((t) => t.ciphertext),
    taskIds: inviteNow.map(taskIdsOf),
    assignHere: inviteNow.map((a) => a.plan.isNew),
  });
  counts.clients_invited += invitations.length;
  // Most of an import's assignments: each goes in with its row's invitation (plain inserts, see createInvitations).
  const assignedWithInvitation = new Set<Candidate>();
  for (const a of inviteNow) {
    if (!a.plan.isNew) continue;
    assignedWithInvitation.add(a);
    counts.assignments += rowTaskIds.get(a)!.length;
  }
  counts.already_invited += toInvite.length - invitations.length;

  const recorded = new Set<string>();
  for (const r of [...invitations, ...added]) if (r.project_id !== null) recorded.add(`${r.project_id}\n${r.client_id}`);
  const taskIds: string[] = [];
  const assignees: string[] = [];
  const withEvent: boolean[] = [];
  const newPair: boolean[] = [];
  for (const a of applied) {
    if (assignedWithInvitation.has(a)) continue;
    const clientId = clientIds.get(a.email)!;
    const own = !recorded.has(`${a.plan.id}\n${clientId}`);
    for (const taskId of rowTaskIds.get(a)!) {
      taskIds.push(taskId);
      assignees.push(clientId);
      withEvent.push(own);
      // This batch created the task's project: nobody is assigned yet, and rows were deduplicated above.
      newPair.push(a.plan.isNew);
    }
  }
  counts.assignments += await sql.assignTasks(db, { agencyId: ctx.agencyId, actorId: ctx.actorId, taskIds, clientIds: assignees, withEvent, fresh: newPair });
  const intoReused = applied.filter((a) => !a.plan.created);
  await sql.insertImportKeys(db, ctx.importId, intoReused.map((a) => a.key), intoReused.map((a) => a.email));

  if (ctx.checkReferencesBySet) {
    // The parents that existed before this transaction: projects and their tasks it did not create, clients
    // it did not insert.
    const before = applied.filter((a) => !a.plan.isNew);
    const missing = await sql.lockReferencedRows(db, {
      agencyId: ctx.agencyId,
      importId: ctx.importId,
      firmUserIds: ctx.actorId ? [ctx.actorId] : [],
      templateIds: toCreate.flatMap((p) => (p.isNew && p.templateId ? [p.templateId] : [])),
      projectIds: before.map((a) => a.plan.id!),
      taskIds: before.flatMap((a) => rowTaskIds.get(a)!),
      clientIds: applied.map((a) => clientIds.get(a.email)!).filter((id) => !insertedClients.has(id)),
    });
    if (missing.length) throw new ReferenceGoneError(missing);
  }

  return { counts, errors, emailIds: invitations.map((i) => i.email_id).filter((id): id is string => id !== null) };
}

export function addCounts(a: Partial<ImportCounts>, b: ImportCounts): ImportCounts {
  const out = emptyImportCounts();
  for (const k of Object.keys(out) as Array<keyof ImportCounts>) out[k] = (a[k] ?? 0) + b[k];
  return out;
}

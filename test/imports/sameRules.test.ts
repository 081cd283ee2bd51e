import { startStack, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { client } from '../support/http.js';
import { HEADER, csv, importAndWait } from './helpers.js';

/**
 * One rule, every door: the same invitation cases go through `POST /v1/projects/:id/invitations` in one
 * agency and through a one-row CSV import in another, from the same starting state, and must end the same:
 * the outcome, the client's status, the invitations of the pair, the memberships, the events written and
 * the emails queued. (Both doors write with the same statements: core/src/sql/invitationInserts.ts.)
 */
let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ smtp: false });
});
afterAll(async () => {
  await stack.close();
});

const q = async (sql: string, values: unknown[]) => (await stack.deps.pool.query(sql, values)).rows;
const EMAIL = 'case@rules.test';

interface World {
  agency: TestAgency;
  projectId: string;
  /** The address the case invites (the owner's own for the firm-user case). */
  email: string;
}

/** A project both doors invite into; it already exists, so the import reuses it. */
async function world(name: string): Promise<World> {
  const agency = await createTestAgency(stack, name);
  const made = await client(stack.url, agency.key).post('/v1/projects', { name: 'Shared', external_id: 'shared-1', template_name: 'Client onboarding' });
  expect(made.status).toBe(201);
  return { agency, projectId: made.body.id, email: EMAIL };
}

// Named builders of the starting states.
async function clientInOtherProject(w: World): Promise<string> {
  const other = await client(stack.url, w.agency.key).post('/v1/projects', {
    name: 'Other',
    clients: [{ email: w.email, first_name: 'Case', last_name: 'Client' }],
  });
  expect(other.status).toBe(201);
  return other.body.clients[0].client_id;
}
async function deactivated(w: World): Promise<void> {
  const id = await clientInOtherProject(w);
  expect((await client(stack.url, w.agency.key).post(`/v1/clients/${id}/deactivate`, {})).status).toBe(200);
}
/** Invited once, deactivated, reactivated without ever accepting: inactive, ready to be invited. */
async function inactive(w: World): Promise<void> {
  const id = await clientInOtherProject(w);
  const api = client(stack.url, w.agency.key);
  expect((await api.post(`/v1/clients/${id}/deactivate`, {})).status).toBe(200);
  expect((await api.post(`/v1/clients/${id}/reactivate`, {})).status).toBe(200);
}
/** As after accepting an invitation to another project. */
async function active(w: World): Promise<void> {
  const id = await clientInOtherProject(w);
  await q(`update clients set status = 'active', activated_at = now() where agency_id = $1 and id = $2`, [w.agency.agencyId, id]);
}
async function pending(w: World): Promise<void> {
  const res = await client(stack.url, w.agency.key).post(`/v1/projects/${w.projectId}/invitations`, {
    email: w.email,
    first_name: 'Case',
    last_name: 'Client',
  });
  expect(res.status).toBe(201);
}
async function expiredPending(w: World): Promise<void> {
  await pending(w);
  await q(`update invitations set expires_at = now() - interval '1 minute' where agency_id = $1 and email_normalized = $2`, [w.agency.agencyId, w.email]);
}
async function firmUser(w: World): Promise<void> {
  w.email = w.agency.email;
}
async function activeMember(w: World): Promise<void> {
  await active(w);
  const res = await client(stack.url, w.agency.key).post(`/v1/projects/${w.projectId}/invitations`, {
    email: w.email,
    first_name: 'Case',
    last_name: 'Client',
  });
  expect(res.body.result).toBe('added');
}

const cases: Array<[string, (w: World) => Promise<void>, string]> = [
  ['a new client', async () => undefined, 'invited'],
  ["a firm user's address", firmUser, 'refused: email_belongs_to_firm_user'],
  ['a deactivated client', deactivated, 'refused: client_deactivated'],
  ['an inactive client', inactive, 'invited'],
  ['an active client', active, 'added'],
  ['an active client already in the project', activeMember, 'already_member'],
  ['a pending invitation', pending, 'already_invited'],
  ['an expired pending invitation', expiredPending, 'invited'],
];

/** What one invite did, in terms both doors share. */
async function outcomeOf(w: World, door: 'api' | 'import'): Promise<{ outcome: string; state: unknown }> {
  const [{ last }] = await q(`select coalesce(max(id), 0)::bigint as last from events where agency_id = $1`, [w.agency.agencyId]);
  const [{ lastEmail }] = await q(`select count(*)::int as "lastEmail" from emails where agency_id = $1`, [w.agency.agencyId]);
  let outcome: string;
  if (door === 'api') {
    const res = await client(stack.url, w.agency.key).post(`/v1/projects/${w.projectId}/invitations`, {
      email: w.email,
      first_name: 'Case',
      last_name: 'Client',
      message: 'Hello',
    });
    outcome = res.status >= 400 ? `refused: ${res.body.code}` : res.body.result;
  } else {
    const imp = await importAndWait(stack.url, w.agency.key, csv(HEADER, `Shared,shared-1,,Case,Client,${w.email},,Hello`));
    const c = imp.counts;
    expect(c.rows).toBe(1);
    if (c.errors) {
      const [err] = await q('select error from import_errors where import_id = $1', [imp.id]);
      outcome = /firm user/.test(err.error)
        ? 'refused: email_belongs_to_firm_user'
        : /deactivated/.test(err.error)
          ? 'refused: client_deactivated'
          : `refused: ${err.error}`;
    } else
      outcome = c.clients_invited
        ? 'invited'
        : c.already_invited
          ? 'already_invited'
          : c.clients_added
            ? 'added'
            : c.already_members
              ? 'already_member'
              : 'nothing';
  }
  const email = w.email.toLowerCase();
  const events = await q(`select type, data from events where agency_id = $1 and id > $2 and type not in ('import.completed') order by id`, [
    w.agency.agencyId,
    last,
  ]);
  const state = {
    client: (await q(`select status from clients where agency_id = $1 and email_normalized = $2`, [w.agency.agencyId, email]))[0]?.status ?? null,
    invitations: await q(
      `select status, token_hash is not null as has_link, message, send_count, delivery_status <> 'not_sent' as email_requested,
              (select count(*)::int from emails e where e.invitation_id = i.id) as emails
         from invitations i where i.agency_id = $1 and i.project_id = $2 and i.email_normalized = $3 order by i.created_at`,
      [w.agency.agencyId, w.projectId, email],
    ),
    memberships: (
      await q(
        `select count(*)::int as n from memberships m join clients c on c.id = m.client_id where m.agency_id = $1 and m.project_id = $2 and c.email_normalized = $3`,
        [w.agency.agencyId, w.projectId, email],
      )
    )[0].n,
    // The events, with what an import adds to them (its id and the row's task ids) set aside.
    events: events.map((e: any) => {
      const { import_id: _i, task_ids: _t, ...data } = e.data;
      return { type: e.type, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, k.endsWith('_id') ? typeof v : v])) };
    }),
    emails: (await q(`select kind, to_address from emails where agency_id = $1 order by created_at offset $2`, [w.agency.agencyId, lastEmail])).map(
      (e: any) => `${e.kind} ${e.to_address}`,
    ),
  };
  return { outcome, state };
}

describe('the invitation rules are the same through the API and a one-row CSV import', () => {
  it.each(cases)('%s', async (name, given, expected) => {
    const [viaApi, viaImport] = [await world(`API ${name}`), await world(`Import ${name}`)];
    await given(viaApi);
    await given(viaImport);
    const api = await outcomeOf(viaApi, 'api');
    const imported = await outcomeOf(viaImport, 'import');
    expect(api.outcome).toBe(expected);
    expect(imported).toEqual(api);
  });
});

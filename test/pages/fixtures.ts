import { encryptToken, hashPassword, hashToken, randomToken, TokenPurpose } from '@onramp/core';
import type { TestAgency, TestStack } from '../support/stack.js';
import { unique } from '../support/unique.js';

export interface InvitationFixture {
  token: string;
  invitationId: string;
  clientId: string;
  projectId: string;
  email: string;
}

export interface InvitationOptions {
  projectName?: string;
  projectId?: string;
  email?: string;
  firstName?: string;
  message?: string | null;
  /** Seconds from now; negative = already expired. */
  expiresIn?: number;
  /** Give the client a password (an existing account). */
  password?: string;
}

export async function createProject(stack: TestStack, agency: TestAgency, name = `Project ${unique()}`): Promise<string> {
  const { rows } = await stack.deps.pool.query<{ id: string }>('insert into projects (agency_id, name, created_by) values ($1, $2, $3) returning id', [
    agency.agencyId,
    name,
    agency.userId,
  ]);
  return rows[0]!.id;
}

/** A project, a client (status invited) and a pending invitation created by the agency's owner, the way the API stores them. */
export async function createInvitation(stack: TestStack, agency: TestAgency, opts: InvitationOptions = {}): Promise<InvitationFixture> {
  const pool = stack.deps.pool;
  const secret = stack.deps.appSecret;
  const projectId = opts.projectId ?? (await createProject(stack, agency, opts.projectName));
  const email = opts.email ?? `client-${unique()}@example.test`;
  const passwordHash = opts.password ? await hashPassword(opts.password) : null;
  const { rows: clients } = await pool.query<{ id: string }>(
    `insert into clients (agency_id, email, first_name, last_name, status, password_hash, activated_at)
     values ($1, $2, $3, 'Client', $4, $5, $6)
     on conflict (agency_id, email_normalized) do update set updated_at = now() returning id`,
    [agency.agencyId, email, opts.firstName ?? 'Casey', passwordHash ? 'active' : 'invited', passwordHash, passwordHash ? new Date() : null],
  );
  const clientId = clients[0]!.id;
  const token = randomToken();
  const { rows } = await pool.query<{ id: string }>(
    `insert into invitations (agency_id, project_id, client_id, email, created_by, token_hash, token_ciphertext, message, expires_at, send_count, last_sent_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(secs => $9), 1, now() - interval '1 hour') returning id`,
    [
      agency.agencyId,
      projectId,
      clientId,
      email,
      agency.userId,
      hashToken(secret, token, TokenPurpose.invitation),
      encryptToken(secret, token),
      opts.message ?? null,
      opts.expiresIn ?? 7 * 86400,
    ],
  );
  return { token, invitationId: rows[0]!.id, clientId, projectId, email };
}

export interface InvitationState {
  status: string;
  clientStatus: string;
  memberships: number;
  acceptedEvents: number;
  acceptedEmails: Array<{ to_address: string; firm_user_id: string | null }>;
}

/** Everything an accept may change, to prove that something did or did not happen. */
export async function invitationState(stack: TestStack, f: InvitationFixture): Promise<InvitationState> {
  const pool = stack.deps.pool;
  const { rows: inv } = await pool.query<{ status: string; client_status: string }>(
    'select i.status, c.status as client_status from invitations i join clients c on c.id = i.client_id where i.id = $1',
    [f.invitationId],
  );
  const { rows: m } = await pool.query<{ n: number }>('select count(*)::int as n from memberships where project_id = $1 and client_id = $2', [
    f.projectId,
    f.clientId,
  ]);
  const { rows: e } = await pool.query<{ n: number }>(`select count(*)::int as n from events where type = 'invitation.accepted' and subject_id = $1`, [
    f.invitationId,
  ]);
  const { rows: mails } = await pool.query<{ to_address: string; firm_user_id: string | null }>(
    `select to_address, firm_user_id from emails where kind = 'invitation_accepted' and invitation_id = $1`,
    [f.invitationId],
  );
  return { status: inv[0]!.status, clientStatus: inv[0]!.client_status, memberships: m[0]!.n, acceptedEvents: e[0]!.n, acceptedEmails: mails };
}

/** A tiny browser for fetch: keeps cookies, posts forms, never follows redirects. */
export class FormClient {
  readonly cookies = new Map<string, string>();
  constructor(readonly baseUrl: string) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private remember(res: Response): void {
    for (const sc of res.headers.getSetCookie()) {
      const [pair] = sc.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (/expires=Thu, 01 Jan 1970/i.test(sc) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async get(path: string): Promise<{ status: number; text: string; headers: Headers }> {
    const res = await fetch(`${this.baseUrl}${path}`, { headers: { cookie: this.cookieHeader() }, redirect: 'manual' });
    this.remember(res);
    return { status: res.status, text: await res.text(), headers: res.headers };
  }

  async post(path: string, fields: Record<string, string>): Promise<{ status: number; text: string; headers: Headers }> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method: 'POST',
      headers: { cookie: this.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
      redirect: 'manual',
    });
    this.remember(res);
    return { status: res.status, text: await res.text(), headers: res.headers };
  }
}

export function csrfOf(page: string): string {
  const m = /name="csrf" value="([^"]+)"/.exec(page);
  if (!m) throw new Error('no csrf field on the page');
  return m[1]!;
}

/** The owner as the API would see them, to drive the lead's real revoke/resend use cases. */
export function ownerPrincipal(agency: TestAgency): import('@onramp/core').Principal {
  return {
    apiKeyId: '00000000-0000-0000-0000-000000000000',
    agencyId: agency.agencyId,
    agencyName: 'Agency',
    userId: agency.userId,
    userEmail: agency.email,
    userName: null,
    role: 'owner',
  };
}

import { findAgencyForOperator, inviteTeammate, listUsers, newPasswordSchema, operatorPrincipal, setFirmUserPassword } from '@onramp/core';
import { withDatabase } from './admin.js';
import type { Command } from './types.js';

/**
 * The password comes from ONRAMP_PASSWORD or from a pipe, never from an argument: arguments show up in
 * `ps` and in shell history. Only the one line ending is stripped; everything else is the password.
 */
async function readPassword(): Promise<string | null> {
  const fromEnv = process.env.ONRAMP_PASSWORD;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (process.stdin.isTTY) return null;
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    if (chunks.reduce((n, c) => n + c.length, 0) > 4096) break;
  }
  const text = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  return text === '' ? null : text;
}

export const userCommands: Command[] = [
  {
    name: 'user invite',
    usage: '--agency ID_OR_NAME --email EMAIL --role admin|member [--first-name NAME] [--last-name NAME] [--json]',
    summary: 'Invite a teammate: they get an email with a single-use link to choose their name and password',
    options: {
      agency: { type: 'string' },
      email: { type: 'string' },
      role: { type: 'string' },
      'first-name': { type: 'string' },
      'last-name': { type: 'string' },
      json: { type: 'boolean' },
    },
    optionHelp: {
      agency: 'The agency id, or its exact name',
      email: "The teammate's email",
      role: '`admin` (writes) or `member` (reads only)',
      'first-name': 'Optional; the teammate can set it when joining',
      'last-name': 'Optional',
      json: 'Print one JSON object',
    },
    required: ['agency', 'email', 'role'],
    run: async ({ config, values }) => {
      const out = await withDatabase(
        config!,
        async (deps) => {
          const agency = await findAgencyForOperator(deps.pool, String(values.agency));
          // The invitation comes from the agency's first active owner: their name is the inviter in the email.
          const principal = await operatorPrincipal(deps.pool, agency);
          const result = await inviteTeammate(deps, principal, {
            email: String(values.email),
            role: String(values.role),
            ...(values['first-name'] ? { first_name: String(values['first-name']) } : {}),
            ...(values['last-name'] ? { last_name: String(values['last-name']) } : {}),
          });
          return { agency, principal, ...result };
        },
        { redis: true },
      );
      if (values.json) console.log(JSON.stringify({ created: out.created, user: out.user }));
      else if (out.created) {
        console.log(
          `Invited ${out.user.email} as ${out.user.role} of ${out.agency.name}, on behalf of ${out.principal.userName ?? out.principal.userEmail}. ` +
            `The link in the email expires ${out.user.invitation!.expires_at}.`,
        );
      } else
        console.log(
          `${out.user.email} is already invited (nothing sent). Resend from the console's Team page or POST /v1/users/${out.user.id}/resend-invitation.`,
        );
      return 0;
    },
  },
  {
    name: 'user list',
    usage: '--agency ID_OR_NAME [--json]',
    summary: "The agency's firm users: email, name, role, status",
    options: { agency: { type: 'string' }, json: { type: 'boolean' } },
    optionHelp: { agency: 'The agency id, or its exact name', json: 'Print one JSON object' },
    required: ['agency'],
    run: async ({ config, values }) => {
      const users = await withDatabase(config!, async (deps) => {
        const agency = await findAgencyForOperator(deps.pool, String(values.agency));
        return listUsers(deps, await operatorPrincipal(deps.pool, agency));
      });
      if (values.json) {
        console.log(JSON.stringify({ data: users }));
        return 0;
      }
      const rows = users.map((u) => [u.email, u.name ?? '-', u.role, u.status]);
      const widths = [0, 1, 2].map((i) => Math.max(...[['EMAIL', 'NAME', 'ROLE'][i]!, ...rows.map((r) => r[i]!)].map((c) => c.length)));
      console.log([['EMAIL', 'NAME', 'ROLE', 'STATUS'], ...rows].map((r) => r.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c)).join('  ')).join('\n'));
      return 0;
    },
  },
  {
    name: 'user password',
    usage: '--email EMAIL  (password from stdin or ONRAMP_PASSWORD)',
    summary: "Set a firm user's console password (at least 10 characters); ends their open console sessions",
    options: { email: { type: 'string' } },
    optionHelp: { email: "The firm user's email" },
    required: ['email'],
    run: async ({ config, values }) => {
      const password = await readPassword();
      if (password === null) {
        console.error('onramp user password: pipe the new password on stdin (printf %s "$PW" | onramp user password ...) or set ONRAMP_PASSWORD');
        return 2;
      }
      const checked = newPasswordSchema.safeParse(password);
      if (!checked.success) {
        console.error(`onramp user password: the password ${checked.error.issues[0]!.message}`);
        return 2;
      }
      const user = await withDatabase(config!, (deps) => setFirmUserPassword(deps.pool, String(values.email), password));
      console.log(`Password set for ${user.email}. Sign in at ${config!.publicBaseUrl}/console/login`);
      return 0;
    },
  },
];

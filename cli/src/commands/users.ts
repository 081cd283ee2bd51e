import { newPasswordSchema, setFirmUserPassword } from '@onramp/core';
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
  const text = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  return text === '' ? null : text;
}

export const userCommands: Command[] = [
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

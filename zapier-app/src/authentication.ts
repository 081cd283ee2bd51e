import type { Authentication, Bundle, ZObject } from 'zapier-platform-core';

import { apiUrl } from './lib/api';

/** GET /v1/me: who the API key belongs to. */
export interface Me {
  agency: { id: string; name: string };
  user: { id: string; email: string; name: string | null; role: string };
}

const test = async (z: ZObject, bundle: Bundle): Promise<Me> => {
  const response = await z.request<Me>({ url: apiUrl(z, bundle, '/me'), method: 'GET' });
  const me = response.data;
  if (!me || !me.agency || !me.user) {
    throw new z.errors.HaltedError(
      'The Onramp URL answered /v1/me without an agency and user. Check that it is the address of your Onramp server.',
    );
  }
  return me;
};

/** "Acme Agency (owner@acme.test)"; the test's result is in bundle.inputData. */
export const connectionLabel = async (_z: ZObject, bundle: Bundle): Promise<string> => {
  const me = bundle.inputData as Partial<Me>;
  const agency = me.agency?.name ?? 'Onramp';
  return me.user?.email ? `${agency} (${me.user.email})` : agency;
};

const authentication = {
  type: 'custom',
  fields: [
    {
      key: 'base_url',
      label: 'Onramp URL',
      type: 'string',
      required: true,
      helpText:
        'The address of your self-hosted Onramp server, for example `https://onramp.youragency.com`. ' +
        'Zapier connects to it from the internet, so it must be publicly reachable over HTTPS.',
    },
    {
      key: 'api_key',
      label: 'API Key',
      type: 'password',
      required: true,
      helpText:
        'An Onramp API key (starts with `onr_`). Create one with `npx onramp key create --user-email you@agency.com` ' +
        'on your Onramp server, or in the Onramp console under API keys. Zapier acts as the user who owns the key.',
    },
  ],
  test,
  connectionLabel,
} satisfies Authentication;

export default authentication;

import type { Authentication, Bundle, ZObject } from 'zapier-platform-core';

import { apiUrl, baseUrl } from './lib/api';
import { rejectNonJson, throwForOnrampError } from './middleware';

/** GET /v1/me: who the API key belongs to. */
export interface Me {
  agency: { id: string; name: string };
  user: { id: string; email: string; name: string | null; role: string };
}

/** Why a connection could not be made at all, in words a Zapier user can act on. */
const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'nothing accepted the connection (is Onramp running, and is this its address and port?)',
  ENOTFOUND: 'the host name does not exist (check the spelling)',
  EAI_AGAIN: 'the host name could not be looked up right now',
  ETIMEDOUT: 'the connection timed out (a firewall may be blocking Zapier)',
  ECONNRESET: 'the connection was closed by the server',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  CERT_HAS_EXPIRED: 'its TLS certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its TLS certificate is self-signed; Zapier needs a certificate from a public authority',
  SELF_SIGNED_CERT_IN_CHAIN: 'its TLS certificate chain is self-signed; Zapier needs a certificate from a public authority',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its TLS certificate could not be verified (is the intermediate certificate installed?)',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its TLS certificate is for a different host name',
};

const unreachable = (z: ZObject, base: string, error: unknown): Error => {
  const code = String((error as { code?: unknown })?.code ?? '');
  const reason = NETWORK_REASONS[code] ?? `${(error as Error)?.message ?? String(error)}`;
  return new z.errors.HaltedError(
    `Zapier could not connect to Onramp at ${base}: ${reason}${code && NETWORK_REASONS[code] ? ` (${code})` : ''}. ` +
      'Check the Onramp URL; it must be reachable from the internet over HTTPS.',
  );
};

const test = async (z: ZObject, bundle: Bundle): Promise<Me> => {
  const base = baseUrl(z, bundle);
  let response;
  try {
    // The statuses are checked below, so that a URL that is not Onramp is named as such.
    response = await z.request<Me>({ url: apiUrl(z, bundle, '/me'), method: 'GET', skipThrowForStatus: true });
  } catch (error) {
    throw unreachable(z, base, error);
  }
  if (response.status === 404 || response.status === 405) {
    throw new z.errors.HaltedError(
      `${base} is not the address of an Onramp server: GET ${base}/v1/me answered HTTP ${response.status}. ` +
        'Enter the address you open Onramp at, without any path, for example https://onramp.youragency.com.',
    );
  }
  throwForOnrampError(response, z, bundle); // 401 (invalid or revoked key), 429, 5xx, other 4xx
  rejectNonJson(response, z, bundle);
  const me = response.data;
  if (!me || !me.agency || !me.user) {
    throw new z.errors.HaltedError('The Onramp URL answered /v1/me without an agency and user. Check that it is the address of your Onramp server.');
  }
  return me;
};

/**
 * "Acme Agency (owner@acme.test)", from the test's result (bundle.inputData). A template rather than a function:
 * Zapier renders it the same way, and `zapier-platform invoke auth label` can render it locally.
 */
export const CONNECTION_LABEL = '{{bundle.inputData.agency.name}} ({{bundle.inputData.user.email}})';

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
        'An Onramp API key (it starts with `onr_`). An owner or admin creates one in the Onramp console on the ' +
        'API keys page (`https://<your Onramp>/console/api-keys`), or on the Onramp server with ' +
        '`npx onramp key create --user-email you@youragency.com`. The key is shown once. Zapier acts as the ' +
        'user the key belongs to: invitations are sent in their name, and only owners and admins can invite.',
    },
  ],
  test,
  connectionLabel: CONNECTION_LABEL,
} satisfies Authentication;

export default authentication;

import { defineSearch } from 'zapier-platform-core';
import type { Bundle, ZObject } from 'zapier-platform-core';

import { apiUrl, str } from '../lib/api';
import type { Page } from '../lib/api';
import type { Item } from '../lib/types';
import { clientFields, clientSample } from '../samples';

const perform = async (z: ZObject, bundle: Bundle): Promise<Item[]> => {
  const email = str((bundle.inputData as Record<string, unknown>).email);
  if (!email) throw new z.errors.HaltedError('Enter the email address of the client to find.');
  const response = await z.request<Page<Item>>({
    url: apiUrl(z, bundle, '/clients'),
    method: 'GET',
    params: { email },
  });
  return Array.isArray(response.data?.data) ? response.data.data : [];
};

export const findClient = defineSearch({
  key: 'find_client',
  noun: 'Client',
  display: {
    label: 'Find Client',
    description: 'Finds a client by email address (exact, case-insensitive).',
  },
  operation: {
    perform,
    inputFields: [{ key: 'email', label: 'Email', type: 'string', required: true }],
    sample: clientSample,
    outputFields: clientFields,
  },
});

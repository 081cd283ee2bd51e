import { defineSearch } from 'zapier-platform-core';
import type { Bundle, ZObject } from 'zapier-platform-core';

import { apiUrl, str } from '../lib/api';
import type { Page } from '../lib/api';
import type { Item } from '../lib/types';
import { projectFields, projectSample } from '../samples';

const perform = async (z: ZObject, bundle: Bundle): Promise<Item[]> => {
  const input = bundle.inputData as Record<string, unknown>;
  const params: Record<string, string> = {};
  const externalId = str(input.external_id);
  const name = str(input.name);
  if (externalId) params.external_id = externalId;
  if (name) params.name = name;
  if (!externalId && !name) {
    throw new z.errors.HaltedError('Enter an External ID or a project name to find a project.');
  }
  const response = await z.request<Page<Item>>({ url: apiUrl(z, bundle, '/projects'), method: 'GET', params });
  return Array.isArray(response.data?.data) ? response.data.data : [];
};

export const findProject = defineSearch({
  key: 'find_project',
  noun: 'Project',
  display: {
    label: 'Find Project',
    description: "Finds a project by your CRM's External ID and/or its exact name.",
  },
  operation: {
    perform,
    inputFields: [
      {
        key: 'external_id',
        label: 'External ID',
        type: 'string',
        required: false,
        helpText: "The CRM's id given when the project was created. Fill this, the name, or both.",
      },
      { key: 'name', label: 'Project Name', type: 'string', required: false, helpText: 'The exact project name.' },
    ],
    sample: projectSample,
    outputFields: projectFields,
  },
});

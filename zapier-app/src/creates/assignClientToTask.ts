import { defineCreate } from 'zapier-platform-core';
import type { Bundle, ZObject } from 'zapier-platform-core';

import { apiUrl, seg, str } from '../lib/api';
import { assignClientFields, assignClientSample } from '../samples';
import { emailField, firstNameField, lastNameField, projectIdField } from './fields';

type Row = Record<string, unknown>;

const perform = async (z: ZObject, bundle: Bundle) => {
  const input = bundle.inputData as Row;
  const body: Record<string, unknown> = { email: str(input.email) };
  const first = str(input.first_name);
  const last = str(input.last_name);
  if (first) body.first_name = first;
  if (last) body.last_name = last;
  const response = await z.request<Record<string, unknown>>({
    url: apiUrl(z, bundle, `/projects/${seg(input.project_id)}/tasks/${seg(input.task_id)}/assignees`),
    method: 'POST',
    body,
  });
  return response.data;
};

export const assignClientToTask = defineCreate({
  key: 'assign_client_to_task',
  noun: 'Task Assignment',
  display: {
    label: 'Assign Client to Task',
    description: 'Creates a task assignment for a client; a client who is not yet in the project is invited to it first.',
  },
  operation: {
    perform,
    inputFields: [
      { ...projectIdField, altersDynamicFields: true },
      {
        key: 'task_id',
        label: 'Task',
        type: 'string',
        required: true,
        dynamic: 'task_list.id.title',
        dependsOn: ['project_id'],
        helpText: 'A task of the chosen project.',
      },
      emailField,
      firstNameField,
      lastNameField,
    ],
    sample: assignClientSample,
    outputFields: assignClientFields,
  },
});

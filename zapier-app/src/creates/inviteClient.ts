import { defineCreate } from 'zapier-platform-core';
import type { Bundle, ZObject } from 'zapier-platform-core';

import { apiUrl, parseBool, seg, str } from '../lib/api';
import type { Item } from '../lib/types';
import { inviteClientFields, inviteClientSample } from '../samples';
import { emailField, messageField, projectIdField, requiredFirstNameField, requiredLastNameField } from './fields';

type Row = Record<string, unknown>;

export const buildInviteBody = (input: Row) => {
  const body: Record<string, unknown> = { email: str(input.email), send_email: parseBool(input.send_email, true) };
  const first = str(input.first_name);
  const last = str(input.last_name);
  const message = str(input.message);
  if (first) body.first_name = first;
  if (last) body.last_name = last;
  if (message) body.message = message;
  return body;
};

const perform = async (z: ZObject, bundle: Bundle) => {
  const input = bundle.inputData as Row;
  const response = await z.request<Item>({
    url: apiUrl(z, bundle, `/projects/${seg(input.project_id)}/invitations`),
    method: 'POST',
    body: buildInviteBody(input),
  });
  return response.data;
};

export const inviteClient = defineCreate({
  key: 'invite_client',
  noun: 'Invitation',
  display: {
    label: 'Invite Client',
    description: 'Creates an invitation for a client to a project and emails them a link. Inviting the same email again returns the pending invitation.',
  },
  operation: {
    perform,
    inputFields: [
      projectIdField,
      emailField,
      requiredFirstNameField,
      requiredLastNameField,
      messageField,
      {
        key: 'send_email',
        label: 'Send Invitation Email',
        type: 'boolean',
        required: false,
        default: 'true',
        helpText: 'Choose No to create the invitation without emailing it.',
      },
    ],
    sample: inviteClientSample,
    outputFields: inviteClientFields,
  },
});

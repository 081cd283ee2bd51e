import { defineCreate } from 'zapier-platform-core';
import type { Bundle, ZObject } from 'zapier-platform-core';

import { apiUrl, parseBool, splitList, str } from '../lib/api';
import type { Item } from '../lib/types';
import { createProjectFields, createProjectSample } from '../samples';
import { messageField } from './fields';

export interface ProjectClientInput {
  email?: string;
  first_name?: string;
  last_name?: string;
  message?: string;
}

export interface CreateProjectBody {
  name: string | undefined;
  external_id?: string;
  template_id?: string;
  template_name?: string;
  clients?: ProjectClientInput[];
  assignments?: Array<{ task: string; emails: string[] }>;
  send_emails: boolean;
}

type Row = Record<string, unknown>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const rows = (value: unknown): Row[] => (Array.isArray(value) ? value.filter((r): r is Row => !!r && typeof r === 'object' && !Array.isArray(r)) : []);

/**
 * Clients come as line items (inputData.clients = [{email, first_name, last_name}]).
 * When the line-item group was not mapped, Zapier may hand the child fields over at
 * the top level, possibly as comma-separated lists; those are zipped by position.
 */
export const collectClients = (input: Row, message: string | undefined): ProjectClientInput[] => {
  let items: Row[] = rows(input.clients);
  if (!items.length && input.email !== undefined) {
    const emails = splitList(input.email);
    const firsts = typeof input.first_name === 'string' ? input.first_name.split(',') : [];
    const lasts = typeof input.last_name === 'string' ? input.last_name.split(',') : [];
    items = emails.map((email, i) => ({ email, first_name: firsts[i], last_name: lasts[i] }));
  }
  const clients: ProjectClientInput[] = [];
  for (const item of items) {
    const client: ProjectClientInput = {};
    const email = str(item.email);
    const first = str(item.first_name);
    const last = str(item.last_name);
    if (email) client.email = email;
    if (first) client.first_name = first;
    if (last) client.last_name = last;
    if (!email && !first && !last) continue; // an empty line item
    if (message) client.message = message;
    clients.push(client);
  }
  return clients;
};

/** Assignments as line items: task (title or id) + comma-separated emails -> [{task, emails: []}]. */
export const collectAssignments = (input: Row): Array<{ task: string; emails: string[] }> => {
  let items: Row[] = rows(input.assignments);
  if (!items.length && input.task !== undefined) items = [{ task: input.task, emails: input.emails }];
  const out: Array<{ task: string; emails: string[] }> = [];
  for (const item of items) {
    const task = str(item.task);
    const emails = splitList(item.emails);
    if (!task && !emails.length) continue;
    out.push({ task: task ?? '', emails });
  }
  return out;
};

export const buildProjectBody = (input: Row): CreateProjectBody => {
  const message = str(input.message);
  const body: CreateProjectBody = { name: str(input.name), send_emails: parseBool(input.send_emails, true) };
  const externalId = str(input.external_id);
  const templateId = str(input.template_id);
  if (externalId) body.external_id = externalId;
  // The Template box holds an id when picked from the dropdown, and a name when typed or mapped ("Client
  // onboarding"): Onramp matches names case-insensitively and answers an unknown one with the agency's names.
  if (templateId) {
    if (UUID.test(templateId)) body.template_id = templateId;
    else body.template_name = templateId;
  }
  const clients = collectClients(input, message);
  if (clients.length) body.clients = clients;
  const assignments = collectAssignments(input);
  if (assignments.length) body.assignments = assignments;
  return body;
};

const perform = async (z: ZObject, bundle: Bundle) => {
  const response = await z.request<Item>({
    url: apiUrl(z, bundle, '/projects'),
    method: 'POST',
    body: buildProjectBody(bundle.inputData as Row),
  });
  return response.data;
};

export const createProject = defineCreate({
  key: 'create_project',
  noun: 'Project',
  display: {
    label: 'Create Project',
    description: 'Creates a project (client workspace), optionally from a template, invites its clients and assigns them to tasks.',
  },
  operation: {
    perform,
    inputFields: [
      { key: 'name', label: 'Project Name', type: 'string', required: true },
      {
        key: 'template_id',
        label: 'Template',
        type: 'string',
        required: false,
        dynamic: 'template_list.id.name',
        helpText:
          'Create the project with the tasks of this template. Pick one, or type or map its name (for example ' +
          '`Client onboarding`, the template every new Onramp agency starts with); names match in any letter case.',
      },
      {
        key: 'external_id',
        label: 'External ID',
        type: 'string',
        required: false,
        helpText:
          "Your CRM's id for this deal or client (unique per agency). If a project with this External ID already " +
          'exists, Onramp returns it instead of creating a duplicate, so Zap replays are safe.',
      },
      {
        key: 'clients',
        label: 'Clients',
        children: [
          // Not marked required so that a project can be created without clients; Onramp needs all three for
          // each client given, and names a missing one (e.g. "clients[0].last_name: is required").
          { key: 'email', label: 'Client Email', type: 'string', required: false, helpText: 'Required for each client.' },
          { key: 'first_name', label: 'Client First Name', type: 'string', required: false, helpText: 'Required for each client.' },
          { key: 'last_name', label: 'Client Last Name', type: 'string', required: false, helpText: 'Required for each client.' },
        ],
      },
      {
        key: 'assignments',
        label: 'Task Assignments',
        children: [
          {
            key: 'task',
            label: 'Task',
            type: 'string',
            required: false,
            helpText: 'The task title (as in the template) or task ID.',
          },
          {
            key: 'emails',
            label: 'Assignee Emails',
            type: 'string',
            required: false,
            helpText: 'Comma-separated emails of clients to assign to this task.',
          },
        ],
      },
      { ...messageField, helpText: 'An optional personal message added to every client invitation email.' },
      {
        key: 'send_emails',
        label: 'Send Invitation Emails',
        type: 'boolean',
        required: false,
        default: 'true',
        helpText: 'Choose No to add the clients without emailing them now (you can resend later).',
      },
    ],
    sample: createProjectSample,
    outputFields: createProjectFields,
  },
});

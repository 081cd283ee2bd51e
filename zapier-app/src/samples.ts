/**
 * Sample records and output fields, shaped exactly like the payloads in
 * docs/API-CONTRACT.md. Every timestamp is ISO 8601 with a time zone.
 */
import type { PlainOutputField } from 'zapier-platform-core';

export const projectSample = {
  id: 'prj_01HZX3K9Q7M2T8V4C6B1N5R0AE',
  name: 'Acme Corp Website Redesign',
  external_id: 'crm-deal-4821',
  template_id: 'tpl_01HZX2A7D3F9G1H5J8K2L4M6NP',
  archived: false,
  created_at: '2026-11-21T23:45:13.000Z',
};

export const clientSample = {
  id: 'cli_01HZX3M2B8C4D6F0G2H4J6K8LQ',
  email: 'jane.doe@acme.example',
  first_name: 'Jane',
  last_name: 'Doe',
  status: 'invited',
  created_at: '2026-11-21T23:45:13.000Z',
};

export const invitationSample = {
  id: 'inv_01HZX3N5P7Q9R1S3T5V7W9X1YZ',
  status: 'pending',
  project: { id: projectSample.id, name: projectSample.name },
  client: {
    id: clientSample.id,
    email: clientSample.email,
    first_name: clientSample.first_name,
    last_name: clientSample.last_name,
    status: clientSample.status,
  },
  email: clientSample.email,
  created_by: { id: 'usr_01HZX1Y3Z5A7B9C1D3E5F7G9HJ', email: 'owner@agency.example', name: 'Olivia Owner' },
  message: 'Welcome aboard! Your project portal is ready.',
  expires_at: '2026-11-28T23:45:13.000Z',
  send_count: 1,
  last_sent_at: '2026-11-21T23:45:14.000Z',
  delivery_status: 'sent',
  delivery_error: null,
  reminders_sent: 0,
  last_reminded_at: null,
  accepted_at: null,
  revoked_at: null,
  created_at: '2026-11-21T23:45:13.000Z',
};

export const taskSample = {
  id: 'tsk_01HZX3Q1R3S5T7V9W1X3Y5Z7AB',
  project_id: projectSample.id,
  title: 'Upload brand assets',
  description: 'Logos, fonts and colour palette.',
  due_date: '2026-12-05',
  position: 1,
  assignees: [
    {
      client_id: clientSample.id,
      email: clientSample.email,
      first_name: clientSample.first_name,
      last_name: clientSample.last_name,
    },
  ],
};

export const templateSample = {
  id: projectSample.template_id,
  name: 'Website Project',
  tasks: [
    { id: 'ttk_01HZX2B1C3D5E7F9G1H3J5K7LM', title: 'Kick-off call', description: null, position: 1 },
    { id: 'ttk_01HZX2B2C4D6E8F0G2H4J6K8LN', title: 'Upload brand assets', description: null, position: 2 },
  ],
  created_at: '2026-11-01T09:00:00.000Z',
};

export const importSample = {
  id: 'imp_01HZX3S7T9V1W3X5Y7Z9A1B3CD',
  status: 'queued',
  dry_run: false,
  send_emails: true,
  filename: 'clients.csv',
  size_bytes: 18342,
  progress: { rows_done: 0, rows_total: 0, percent: 0 },
  counts: {
    rows: 0,
    projects_created: 0,
    projects_reused: 0,
    clients_invited: 0,
    clients_added: 0,
    already_invited: 0,
    already_members: 0,
    assignments: 0,
    duplicates: 0,
    errors: 0,
  },
  error: null,
  created_at: '2026-11-21T23:45:13.000Z',
  started_at: null,
  finished_at: null,
  errors_url: null,
};

const eventMeta = (event: string, eventId: string) => ({
  event,
  event_id: eventId,
  occurred_at: '2026-11-21T23:50:02.000Z',
});

export const invitationAcceptedSample = {
  ...invitationSample,
  status: 'accepted',
  client: { ...invitationSample.client, status: 'active' },
  accepted_at: '2026-11-21T23:50:02.000Z',
  ...eventMeta('invitation.accepted', 'evt_01HZX3W2X4Y6Z8A0B2C4D6E8FG'),
};

export const invitationCreatedSample = {
  ...invitationSample,
  ...eventMeta('invitation.created', 'evt_01HZX3V1W3X5Y7Z9A1B3C5D7EF'),
};

export const projectCreatedSample = {
  ...projectSample,
  tasks: [taskSample],
  ...eventMeta('project.created', 'evt_01HZX3U0V2W4X6Y8Z0A2B4C6DE'),
};

export const importCompletedSample = {
  ...importSample,
  status: 'completed',
  progress: { rows_done: 250, rows_total: 250, percent: 100 },
  counts: {
    rows: 250,
    projects_created: 40,
    projects_reused: 2,
    clients_invited: 180,
    clients_added: 60,
    already_invited: 5,
    already_members: 4,
    assignments: 120,
    duplicates: 3,
    errors: 2,
  },
  started_at: '2026-11-21T23:45:14.000Z',
  finished_at: '2026-11-21T23:45:20.000Z',
  errors_url: 'https://onramp.agency.example/v1/imports/imp_01HZX3S7T9V1W3X5Y7Z9A1B3CD/errors.csv',
  ...eventMeta('import.completed', 'evt_01HZX3X3Y5Z7A9B1C3D5E7F9GH'),
};

export const createProjectSample = {
  ...projectSample,
  created: true,
  tasks: [taskSample],
  clients: [
    {
      email: clientSample.email,
      client_id: clientSample.id,
      invitation_id: invitationSample.id,
      result: 'invited',
    },
  ],
};

export const inviteClientSample = { ...invitationSample, result: 'invited' };

export const assignClientSample = {
  task_id: taskSample.id,
  client: clientSample,
  result: 'assigned',
  invitation: invitationSample,
  invite_result: 'invited',
};

// ---------------------------------------------------------------- output fields

type Field = PlainOutputField;

export const projectFields: Field[] = [
  { key: 'id', label: 'Project ID', type: 'string' },
  { key: 'name', label: 'Project Name', type: 'string' },
  { key: 'external_id', label: 'External ID', type: 'string' },
  { key: 'template_id', label: 'Template ID', type: 'string' },
  { key: 'archived', label: 'Archived', type: 'boolean' },
  { key: 'created_at', label: 'Created At', type: 'datetime' },
];

export const clientFields: Field[] = [
  { key: 'id', label: 'Client ID', type: 'string' },
  { key: 'email', label: 'Email', type: 'string' },
  { key: 'first_name', label: 'First Name', type: 'string' },
  { key: 'last_name', label: 'Last Name', type: 'string' },
  { key: 'status', label: 'Client Status', type: 'string' },
  { key: 'created_at', label: 'Created At', type: 'datetime' },
];

export const invitationFields: Field[] = [
  { key: 'id', label: 'Invitation ID', type: 'string' },
  { key: 'status', label: 'Invitation Status', type: 'string' },
  { key: 'email', label: 'Email', type: 'string' },
  { key: 'message', label: 'Message', type: 'string' },
  { key: 'project__id', label: 'Project ID', type: 'string' },
  { key: 'project__name', label: 'Project Name', type: 'string' },
  { key: 'client__id', label: 'Client ID', type: 'string' },
  { key: 'client__email', label: 'Client Email', type: 'string' },
  { key: 'client__first_name', label: 'Client First Name', type: 'string' },
  { key: 'client__last_name', label: 'Client Last Name', type: 'string' },
  { key: 'client__status', label: 'Client Status', type: 'string' },
  { key: 'created_by__id', label: 'Invited By User ID', type: 'string' },
  { key: 'created_by__email', label: 'Invited By Email', type: 'string' },
  { key: 'created_by__name', label: 'Invited By Name', type: 'string' },
  { key: 'expires_at', label: 'Expires At', type: 'datetime' },
  { key: 'send_count', label: 'Send Count', type: 'integer' },
  { key: 'last_sent_at', label: 'Last Sent At', type: 'datetime' },
  { key: 'delivery_status', label: 'Delivery Status', type: 'string' },
  { key: 'delivery_error', label: 'Delivery Error', type: 'string' },
  { key: 'reminders_sent', label: 'Reminders Sent', type: 'integer' },
  { key: 'last_reminded_at', label: 'Last Reminded At', type: 'datetime' },
  { key: 'accepted_at', label: 'Accepted At', type: 'datetime' },
  { key: 'revoked_at', label: 'Revoked At', type: 'datetime' },
  { key: 'created_at', label: 'Created At', type: 'datetime' },
];

const eventFields: Field[] = [
  { key: 'event', label: 'Event', type: 'string' },
  { key: 'event_id', label: 'Event ID', type: 'string' },
  { key: 'occurred_at', label: 'Occurred At', type: 'datetime' },
];

export const invitationEventFields: Field[] = [...invitationFields, ...eventFields];
export const projectEventFields: Field[] = [
  ...projectFields,
  { key: 'tasks[]id', label: 'Task ID', type: 'string' },
  { key: 'tasks[]title', label: 'Task Title', type: 'string' },
  ...eventFields,
];

export const importFields: Field[] = [
  { key: 'id', label: 'Import ID', type: 'string' },
  { key: 'status', label: 'Import Status', type: 'string' },
  { key: 'dry_run', label: 'Dry Run', type: 'boolean' },
  { key: 'send_emails', label: 'Send Emails', type: 'boolean' },
  { key: 'filename', label: 'Filename', type: 'string' },
  { key: 'size_bytes', label: 'File Size', type: 'integer' },
  { key: 'progress__rows_done', label: 'Rows Done', type: 'integer' },
  { key: 'progress__rows_total', label: 'Rows Total', type: 'integer' },
  { key: 'progress__percent', label: 'Percent Done', type: 'number' },
  { key: 'counts__rows', label: 'Rows', type: 'integer' },
  { key: 'counts__projects_created', label: 'Projects Created', type: 'integer' },
  { key: 'counts__projects_reused', label: 'Projects Reused', type: 'integer' },
  { key: 'counts__clients_invited', label: 'Clients Invited', type: 'integer' },
  { key: 'counts__clients_added', label: 'Clients Added', type: 'integer' },
  { key: 'counts__already_invited', label: 'Already Invited', type: 'integer' },
  { key: 'counts__already_members', label: 'Already Members', type: 'integer' },
  { key: 'counts__assignments', label: 'Task Assignments', type: 'integer' },
  { key: 'counts__duplicates', label: 'Duplicate Rows', type: 'integer' },
  { key: 'counts__errors', label: 'Rows With Errors', type: 'integer' },
  { key: 'error', label: 'Error', type: 'string' },
  { key: 'created_at', label: 'Created At', type: 'datetime' },
  { key: 'started_at', label: 'Started At', type: 'datetime' },
  { key: 'finished_at', label: 'Finished At', type: 'datetime' },
  { key: 'errors_url', label: 'Error Rows CSV URL', type: 'string' },
];

export const importEventFields: Field[] = [...importFields, ...eventFields];

export const createProjectFields: Field[] = [
  ...projectFields,
  { key: 'created', label: 'Newly Created', type: 'boolean' },
  { key: 'clients[]email', label: 'Client Email', type: 'string' },
  { key: 'clients[]client_id', label: 'Client ID', type: 'string' },
  { key: 'clients[]invitation_id', label: 'Invitation ID', type: 'string' },
  { key: 'clients[]result', label: 'Client Result', type: 'string' },
  { key: 'tasks[]id', label: 'Task ID', type: 'string' },
  { key: 'tasks[]title', label: 'Task Title', type: 'string' },
];

export const inviteClientFields: Field[] = [
  ...invitationFields,
  { key: 'result', label: 'Result', type: 'string' },
];

export const assignClientFields: Field[] = [
  { key: 'task_id', label: 'Task ID', type: 'string' },
  { key: 'result', label: 'Assignment Result', type: 'string' },
  { key: 'invite_result', label: 'Invite Result', type: 'string' },
  { key: 'client__id', label: 'Client ID', type: 'string' },
  { key: 'client__email', label: 'Client Email', type: 'string' },
  { key: 'client__first_name', label: 'Client First Name', type: 'string' },
  { key: 'client__last_name', label: 'Client Last Name', type: 'string' },
  { key: 'client__status', label: 'Client Status', type: 'string' },
  { key: 'invitation__id', label: 'Invitation ID', type: 'string' },
  { key: 'invitation__status', label: 'Invitation Status', type: 'string' },
];

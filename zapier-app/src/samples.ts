/**
 * Sample records and output fields, shaped exactly like the payloads in
 * docs/API-CONTRACT.md. Every timestamp is ISO 8601 with a time zone.
 */
import type { PlainOutputField } from 'zapier-platform-core';

export const projectSample = {
  id: '25b2116a-ae6c-4f55-8e0c-3f08e12656f1',
  name: 'Acme Corp Website Redesign',
  external_id: 'crm-deal-4821',
  template_id: '5e06e22d-fff3-44ec-b1dc-ec40db7aca58',
  archived: false,
  created_at: '2026-11-21T23:45:13.000Z',
};

export const clientSample = {
  id: '85750621-02fb-4d4f-b57f-bc5af71a1bfc',
  email: 'jane.doe@acme.example',
  first_name: 'Jane',
  last_name: 'Doe',
  status: 'invited',
  created_at: '2026-11-21T23:45:13.000Z',
};

export const invitationSample = {
  id: '0e111600-0452-4a7c-bd2b-d371fc80be13',
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
  created_by: { id: '5aec4989-dfe1-4e78-b4d4-74c0db9b3642', email: 'owner@agency.example', name: 'Olivia Owner' },
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
  id: '77616364-568c-4396-9dfc-388c3d5df972',
  project_id: projectSample.id,
  title: 'Share brand assets',
  description: 'Upload logos, fonts and brand guidelines.',
  due_date: null,
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
  name: 'Client onboarding',
  tasks: [
    { id: '646c2d64-47d4-4398-9b11-bb37b54c3950', title: 'Welcome call', description: 'A 30-minute call to meet the team and agree on goals.', position: 1 },
    { id: 'ef5e7d7a-3a86-4aac-9826-a9974368903d', title: 'Share brand assets', description: 'Upload logos, fonts and brand guidelines.', position: 2 },
  ],
  created_at: '2026-11-01T09:00:00.000Z',
};

export const importSample = {
  id: 'e9bb466a-2873-4582-8942-dc06bc69f265',
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
  errors_url: 'https://onramp.agency.example/v1/imports/e9bb466a-2873-4582-8942-dc06bc69f265/errors.csv',
  duplicates_url: 'https://onramp.agency.example/v1/imports/e9bb466a-2873-4582-8942-dc06bc69f265/duplicates.csv',
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
  ...eventMeta('invitation.accepted', '48212'),
};

export const invitationCreatedSample = {
  ...invitationSample,
  ...eventMeta('invitation.created', '48211'),
};

export const projectCreatedSample = {
  ...projectSample,
  tasks: [taskSample],
  ...eventMeta('project.created', '48210'),
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
  errors_url: 'https://onramp.agency.example/v1/imports/e9bb466a-2873-4582-8942-dc06bc69f265/errors.csv',
  duplicates_url: 'https://onramp.agency.example/v1/imports/e9bb466a-2873-4582-8942-dc06bc69f265/duplicates.csv',
  ...eventMeta('import.completed', '48213'),
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
  // Assign Client to Task has no message box: its invitation carries none.
  invitation: { ...invitationSample, message: null },
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
  { key: 'duplicates_url', label: 'Duplicate Rows CSV URL', type: 'string' },
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

export const inviteClientFields: Field[] = [...invitationFields, { key: 'result', label: 'Result', type: 'string' }];

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

-- Onramp schema. Every tenant-owned row carries agency_id so every query can be scoped by it.
-- Lists order by a bigint identity (seq) rather than a timestamp: a stable, index-friendly cursor.

create table agencies (
  id uuid primary key default gen_random_uuid(),
  seq bigint generated always as identity unique,
  name text not null check (length(name) between 1 and 200),
  display_name text,
  sender_name text,
  brand_color text not null default '#4f46e5' check (brand_color ~ '^#[0-9a-fA-F]{6}$'),
  logo_url text,
  invite_expiry_days integer not null default 7 check (invite_expiry_days between 1 and 365),
  invite_email_text text,
  created_at timestamptz not null default now()
);

create table firm_users (
  id uuid primary key default gen_random_uuid(),
  agency_id uuid not null references agencies(id) on delete cascade,
  email text not null,
  email_normalized text generated always as (lower(btrim(email))) stored,
  name text,
  role text not null check (role in ('owner', 'admin', 'member')),
  password_hash text,
  created_at timestamptz not null default now(),
  unique (agency_id, email_normalized)
);
create index firm_users_email_idx on firm_users (email_normalized);

create table api_keys (
  id uuid primary key default gen_random_uuid(),
  agency_id uuid not null references agencies(id) on delete cascade,
  user_id uuid not null references firm_users(id) on delete cascade,
  prefix text not null unique,
  key_hash bytea not null,
  name text,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);

create table clients (
  id uuid primary key default gen_random_uuid(),
  seq bigint generated always as identity unique,
  agency_id uuid not null references agencies(id) on delete cascade,
  email text not null,
  email_normalized text generated always as (lower(btrim(email))) stored,
  first_name text not null,
  last_name text not null,
  status text not null default 'inactive' check (status in ('inactive', 'invited', 'active', 'deactivated')),
  password_hash text,
  activated_at timestamptz,
  deactivated_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (agency_id, email_normalized)
);
create index clients_agency_seq_idx on clients (agency_id, seq desc);

create table templates (
  id uuid primary key default gen_random_uuid(),
  seq bigint generated always as identity unique,
  agency_id uuid not null references agencies(id) on delete cascade,
  name text not null check (length(name) between 1 and 200),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index templates_agency_name_idx on templates (agency_id, lower(name));

create table template_tasks (
  id uuid primary key default gen_random_uuid(),
  template_id uuid not null references templates(id) on delete cascade,
  position integer not null,
  title text not null,
  description text,
  unique (template_id, position)
);
create unique index template_tasks_title_idx on template_tasks (template_id, lower(title));

create table projects (
  id uuid primary key default gen_random_uuid(),
  seq bigint generated always as identity unique,
  agency_id uuid not null references agencies(id) on delete cascade,
  name text not null check (length(name) between 1 and 200),
  external_id text,
  template_id uuid references templates(id) on delete set null,
  created_by uuid references firm_users(id) on delete set null,
  archived_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (agency_id, external_id)
);
create index projects_agency_seq_idx on projects (agency_id, seq desc);
create index projects_agency_name_idx on projects (agency_id, name);

create table tasks (
  id uuid primary key default gen_random_uuid(),
  seq bigint generated always as identity unique,
  agency_id uuid not null references agencies(id) on delete cascade,
  project_id uuid not null references projects(id) on delete cascade,
  position integer not null default 0,
  title text not null check (length(title) between 1 and 300),
  description text,
  due_date date,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index tasks_project_title_idx on tasks (project_id, lower(title));
create index tasks_project_position_idx on tasks (project_id, position, seq);

create table memberships (
  project_id uuid not null references projects(id) on delete cascade,
  client_id uuid not null references clients(id) on delete cascade,
  agency_id uuid not null references agencies(id) on delete cascade,
  role text not null default 'workspace-client' check (role in ('workspace-client')),
  created_at timestamptz not null default now(),
  primary key (project_id, client_id)
);
create index memberships_client_idx on memberships (client_id);

create table task_assignees (
  task_id uuid not null references tasks(id) on delete cascade,
  client_id uuid not null references clients(id) on delete cascade,
  agency_id uuid not null references agencies(id) on delete cascade,
  created_at timestamptz not null default now(),
  primary key (task_id, client_id)
);
create index task_assignees_client_idx on task_assignees (client_id);

create table invitations (
  id uuid primary key default gen_random_uuid(),
  seq bigint generated always as identity unique,
  agency_id uuid not null references agencies(id) on delete cascade,
  project_id uuid not null references projects(id) on delete cascade,
  client_id uuid not null references clients(id) on delete cascade,
  email text not null,
  email_normalized text generated always as (lower(btrim(email))) stored,
  created_by uuid references firm_users(id) on delete set null,
  status text not null default 'pending' check (status in ('pending', 'accepted', 'revoked', 'expired')),
  -- HMAC of the token under APP_SECRET: the database alone can never redeem a link.
  token_hash bytea unique,
  -- AES-GCM of the token under a key derived from APP_SECRET: "copy invite link" without storing it in clear.
  token_ciphertext bytea,
  message text,
  expires_at timestamptz not null,
  send_count integer not null default 0,
  last_sent_at timestamptz,
  delivery_status text not null default 'not_sent' check (delivery_status in ('not_sent', 'queued', 'sent', 'failed')),
  delivery_error text,
  accepted_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index invitations_one_pending_idx on invitations (project_id, email_normalized) where status = 'pending';
create index invitations_agency_seq_idx on invitations (agency_id, seq desc);
create index invitations_agency_status_seq_idx on invitations (agency_id, status, seq desc);
create index invitations_agency_project_seq_idx on invitations (agency_id, project_id, seq desc);
create index invitations_agency_email_seq_idx on invitations (agency_id, email_normalized, seq desc);
create index invitations_pending_expiry_idx on invitations (expires_at) where status = 'pending';
create index invitations_client_idx on invitations (client_id);

-- Append-only. Written in the same transaction as the change it records.
create table events (
  id bigint generated always as identity primary key,
  agency_id uuid not null references agencies(id) on delete cascade,
  type text not null,
  subject_id uuid,
  actor_id uuid,
  data jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);
create index events_agency_id_idx on events (agency_id, id);
create index events_agency_type_id_idx on events (agency_id, type, id);

create table emails (
  id uuid primary key default gen_random_uuid(),
  agency_id uuid not null references agencies(id) on delete cascade,
  kind text not null check (kind in ('invitation', 'invitation_resend', 'invitation_accepted', 'password_reset')),
  to_address text not null,
  invitation_id uuid references invitations(id) on delete cascade,
  client_id uuid references clients(id) on delete cascade,
  firm_user_id uuid references firm_users(id) on delete cascade,
  -- What the email links to (e.g. the encrypted one-time token) is rebuilt by the worker from ids.
  token_ciphertext bytea,
  status text not null default 'queued' check (status in ('queued', 'sent', 'failed', 'cancelled')),
  attempts integer not null default 0,
  error text,
  message_id text,
  created_at timestamptz not null default now(),
  sent_at timestamptz
);
create index emails_queued_idx on emails (created_at) where status = 'queued';
create index emails_invitation_idx on emails (invitation_id);

create table idempotency_keys (
  agency_id uuid not null references agencies(id) on delete cascade,
  key text not null,
  method text not null,
  path text not null,
  request_hash text not null,
  status_code integer,
  response_body jsonb,
  created_at timestamptz not null default now(),
  completed_at timestamptz,
  primary key (agency_id, key)
);
create index idempotency_keys_created_idx on idempotency_keys (created_at);

create table client_sessions (
  token_hash bytea primary key,
  client_id uuid not null references clients(id) on delete cascade,
  agency_id uuid not null references agencies(id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz
);
create index client_sessions_client_idx on client_sessions (client_id);

create table password_resets (
  token_hash bytea primary key,
  client_id uuid not null references clients(id) on delete cascade,
  agency_id uuid not null references agencies(id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz
);

create table imports (
  id uuid primary key default gen_random_uuid(),
  seq bigint generated always as identity unique,
  agency_id uuid not null references agencies(id) on delete cascade,
  created_by uuid references firm_users(id) on delete set null,
  status text not null default 'queued' check (status in ('queued', 'running', 'completed', 'failed', 'cancelled')),
  dry_run boolean not null default false,
  send_emails boolean not null default true,
  default_template text,
  filename text,
  size_bytes bigint not null default 0,
  sha256 text,
  -- Resume point: every row before it is fully applied (committed with the batch).
  checkpoint_row integer not null default 0,
  rows_total integer,
  counts jsonb not null default '{}'::jsonb,
  error text,
  cancel_requested boolean not null default false,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz
);
create index imports_agency_seq_idx on imports (agency_id, seq desc);

-- The uploaded file lives in the database, in chunks, so a worker on any machine can stream it.
create table import_chunks (
  import_id uuid not null references imports(id) on delete cascade,
  chunk_no integer not null,
  data bytea not null,
  primary key (import_id, chunk_no)
);

create table import_errors (
  import_id uuid not null references imports(id) on delete cascade,
  row_number integer not null,
  values jsonb not null,
  error text not null,
  primary key (import_id, row_number)
);

create table hooks (
  id uuid primary key default gen_random_uuid(),
  seq bigint generated always as identity unique,
  agency_id uuid not null references agencies(id) on delete cascade,
  created_by uuid references firm_users(id) on delete set null,
  event text not null,
  target_url text not null,
  secret text not null,
  status text not null default 'active' check (status in ('active', 'disabled')),
  disabled_reason text,
  consecutive_failures integer not null default 0,
  created_at timestamptz not null default now()
);
create index hooks_agency_event_idx on hooks (agency_id, event) where status = 'active';

create table webhook_deliveries (
  id uuid primary key default gen_random_uuid(),
  seq bigint generated always as identity unique,
  hook_id uuid not null references hooks(id) on delete cascade,
  agency_id uuid not null references agencies(id) on delete cascade,
  event_id bigint not null references events(id) on delete cascade,
  status text not null default 'pending' check (status in ('pending', 'succeeded', 'failed')),
  attempts integer not null default 0,
  last_status_code integer,
  last_error text,
  created_at timestamptz not null default now(),
  delivered_at timestamptz,
  unique (hook_id, event_id)
);

create table webhook_attempts (
  delivery_id uuid not null references webhook_deliveries(id) on delete cascade,
  attempt integer not null,
  status_code integer,
  error text,
  duration_ms integer,
  created_at timestamptz not null default now(),
  primary key (delivery_id, attempt)
);

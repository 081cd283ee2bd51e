-- Agency administration (issue 13): firm users with names and a lifecycle, teammate invitations, the
-- agency's default invitation message, and dead links that still know which agency they came from.

-- Agencies: the message that pre-fills the invite form and is used when an invitation has none.
alter table agencies
  add column default_message text check (default_message is null or length(default_message) <= 2000),
  add column updated_at timestamptz not null default now();

-- Firm users: a first and last name (the inviter in emails: "Olivia from Acme"), and a lifecycle.
-- `invited`: a teammate who has not yet set a password over their emailed link; `deactivated`: every
-- session and API key of the user stops at once (checked on every request), their rows stay for history.
alter table firm_users
  add column first_name text check (first_name is null or length(first_name) <= 200),
  add column last_name text check (last_name is null or length(last_name) <= 200),
  add column status text not null default 'active' check (status in ('invited', 'active', 'deactivated')),
  add column deactivated_at timestamptz,
  add column updated_at timestamptz not null default now();

-- `name` stays as the full name every reader already uses (read models, API keys, sessions), kept by a
-- trigger from first_name/last_name. Writers that still give only `name` (older fixtures, the CLI's
-- --owner-name) get it split at the first space, so both spellings always agree.
create function firm_users_sync_name() returns trigger language plpgsql as $$
declare
  whole text;
begin
  if (tg_op = 'INSERT' and new.first_name is null and new.last_name is null and new.name is not null)
     or (tg_op = 'UPDATE' and new.name is distinct from old.name
         and new.first_name is not distinct from old.first_name and new.last_name is not distinct from old.last_name) then
    whole := btrim(regexp_replace(coalesce(new.name, ''), '\s+', ' ', 'g'));
    new.first_name := nullif(split_part(whole, ' ', 1), '');
    new.last_name := nullif(btrim(substr(whole, length(split_part(whole, ' ', 1)) + 1)), '');
  end if;
  new.name := nullif(btrim(concat_ws(' ', nullif(btrim(new.first_name), ''), nullif(btrim(new.last_name), ''))), '');
  return new;
end $$;

with split as (
  select id, btrim(regexp_replace(coalesce(name, ''), '\s+', ' ', 'g')) as whole from firm_users
)
update firm_users u
   set first_name = nullif(split_part(s.whole, ' ', 1), ''),
       last_name = nullif(btrim(substr(s.whole, length(split_part(s.whole, ' ', 1)) + 1)), '')
  from split s where s.id = u.id;
create trigger firm_users_sync_name before insert or update on firm_users
  for each row execute function firm_users_sync_name();

-- Teammate invitations: the same token rules as client invitations (256-bit token, only its HMAC stored,
-- a random seed sealed under APP_SECRET so the worker can rebuild the link, single use, expiry, a resend
-- rotates it). The invited firm user exists from the start (status `invited`, no password), so a teammate's
-- address is reserved in the agency at once and a client of the same address is refused both ways.
create table teammate_invitations (
  id uuid primary key default gen_random_uuid(),
  seq bigint generated always as identity unique,
  agency_id uuid not null,
  user_id uuid not null,
  email text not null,
  role text not null check (role in ('admin', 'member')),
  created_by uuid references firm_users(id) on delete set null,
  status text not null default 'pending' check (status in ('pending', 'accepted', 'revoked')),
  token_hash bytea unique,
  token_ciphertext bytea,
  expires_at timestamptz not null,
  send_count integer not null default 1,
  last_sent_at timestamptz not null default now(),
  accepted_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz not null default now(),
  foreign key (user_id, agency_id) references firm_users (id, agency_id) on delete cascade
);
create unique index teammate_invitations_one_pending_idx on teammate_invitations (user_id) where status = 'pending';
create index teammate_invitations_agency_idx on teammate_invitations (agency_id, seq desc);

alter table emails drop constraint emails_kind_check;
alter table emails add constraint emails_kind_check
  check (kind in ('invitation', 'invitation_resend', 'invitation_accepted', 'password_reset', 'teammate_invitation'));

-- Dead links naming their agency: invitation_dead_links (0120_client_access.sql).

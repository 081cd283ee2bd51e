-- Client access (issue 16): how an agency's clients sign in, reminders before an invitation expires,
-- agency-aware sign-in pages (a slug per agency), single-use sign-in links, and dead invitation links that
-- still say which agency (and which client) they belonged to.

-- Agency settings, read and written by core/src/usecases/clientAccessSettings.ts.
alter table agencies
  add column client_sign_in text not null default 'password' check (client_sign_in in ('password', 'magic_link', 'either')),
  -- Hours before expiry at which a pending invitation is reminded, at most 5 steps of 1..720; empty = off.
  add column reminder_hours_before integer[] not null default '{24}'
    check (cardinality(reminder_hours_before) <= 5
           and array_position(reminder_hours_before, null) is null
           and 1 <= all (reminder_hours_before) and 720 >= all (reminder_hours_before));

-- The slug of /a/<slug>/login, derived from the name. One SQL rule for the backfill and for every insert
-- (API, CLI, test fixtures alike), so no insert path can leave an agency without one.
-- Common accented letters are folded before lower() (which leaves them alone under the C locale): Ácme -> acme; anything else that is not a-z or 0-9 becomes a dash.
create function agency_slug_base(name text) returns text language sql immutable as $$
  select coalesce(nullif(btrim(left(btrim(regexp_replace(
    lower(translate(name, 'áàâäãåāçćčéèêëēęíìîïīłñńóòôöõøōśšúùûüūýÿžźżÁÀÂÄÃÅĀÇĆČÉÈÊËĒĘÍÌÎÏĪŁÑŃÓÒÔÖÕØŌŚŠÚÙÛÜŪÝŸŽŹŻ', 'aaaaaaaccceeeeeeiiiiilnnooooooossuuuuuyyzzzaaaaaaaccceeeeeeiiiiilnnooooooossuuuuuyyzzz')),
    '[^a-z0-9]+', '-', 'g'), '-'), 40), '-'), ''), 'agency')
$$;

alter table agencies add column slug text;
with ranked as (
  select id, seq, agency_slug_base(name) as base, row_number() over (partition by agency_slug_base(name) order by seq) as n from agencies
)
update agencies a set slug = case when r.n = 1 then r.base else r.base || '-' || r.seq end from ranked r where r.id = a.id;
alter table agencies alter column slug set not null;
alter table agencies add constraint agencies_slug_key unique (slug);
alter table agencies add constraint agencies_slug_check check (slug ~ '^[a-z0-9][a-z0-9-]{0,60}$');

-- A taken base gets the agency's seq appended. The advisory lock serialises two agencies created at once
-- under the same name, so the second sees the first and neither fails on the unique constraint.
create function agencies_assign_slug() returns trigger language plpgsql as $$
declare
  base text;
begin
  if new.slug is not null then
    return new;
  end if;
  base := agency_slug_base(new.name);
  perform pg_advisory_xact_lock(hashtext('onramp:agency-slug:' || base));
  new.slug := base;
  if exists (select 1 from agencies where slug = new.slug) then
    new.slug := base || '-' || new.seq;
  end if;
  if exists (select 1 from agencies where slug = new.slug) then
    new.slug := base || '-' || new.seq || '-' || substr(md5(random()::text), 1, 6);
  end if;
  return new;
end
$$;
create trigger agencies_assign_slug before insert on agencies for each row execute function agencies_assign_slug();

-- Single-use sign-in links ("email me a link"): only HMAC(APP_SECRET, token) is stored.
create table sign_in_links (
  token_hash bytea primary key,
  client_id uuid not null references clients(id) on delete cascade,
  agency_id uuid not null references agencies(id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz
);
create index sign_in_links_client_idx on sign_in_links (client_id);
create index sign_in_links_expires_idx on sign_in_links (expires_at);

-- Reminders: one row per (invitation, schedule step) claims that step, so two sweeps never send it twice.
alter table invitations add column reminders_sent integer not null default 0, add column last_reminded_at timestamptz;
create table invitation_reminders (
  invitation_id uuid not null references invitations(id) on delete cascade,
  hours_before integer not null,
  agency_id uuid not null references agencies(id) on delete cascade,
  email_id uuid references emails(id) on delete set null,
  created_at timestamptz not null default now(),
  primary key (invitation_id, hours_before)
);

-- Dead links. Revoking, expiring and resending replace or null invitations.token_hash, so such a link found
-- no row and its page could not say whose it was. The old hash is kept here instead, by a trigger, so no
-- code path that kills a link (API, console, sweep, import) can forget it. Nothing redeems from this table:
-- acceptance only ever matches invitations.token_hash of a pending invitation.
create table invitation_dead_links (
  token_hash bytea primary key,
  invitation_id uuid not null references invitations(id) on delete cascade,
  agency_id uuid not null references agencies(id) on delete cascade,
  client_id uuid not null references clients(id) on delete cascade,
  created_at timestamptz not null default now()
);
create index invitation_dead_links_invitation_idx on invitation_dead_links (invitation_id);

create function invitations_keep_dead_link() returns trigger language plpgsql as $$
begin
  insert into invitation_dead_links (token_hash, invitation_id, agency_id, client_id)
  values (old.token_hash, old.id, old.agency_id, old.client_id)
  on conflict (token_hash) do nothing;
  return null;
end
$$;
create trigger invitations_keep_dead_link after update of token_hash on invitations
  for each row when (old.token_hash is not null and old.token_hash is distinct from new.token_hash)
  execute function invitations_keep_dead_link();

-- New email kinds: the reminder before expiry (same link) and the sign-in link.
alter table emails drop constraint emails_kind_check;
alter table emails add constraint emails_kind_check
  check (kind in ('invitation', 'invitation_resend', 'invitation_accepted', 'password_reset', 'teammate_invitation', 'invitation_reminder', 'sign_in_link'));

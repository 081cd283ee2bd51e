-- Firm users' sessions for the web console, apart from client_sessions: a different cookie, a different
-- token purpose, a much shorter life (12 hours), and a firm user instead of a client behind each row.
create table console_sessions (
  token_hash bytea primary key,
  user_id uuid not null references firm_users(id) on delete cascade,
  agency_id uuid not null references agencies(id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz
);
-- Ending every session of a user when their password changes.
create index console_sessions_user_idx on console_sessions (user_id);

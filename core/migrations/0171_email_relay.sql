-- The invite API's outbox hand-off. A new invitation's email row and a row here are written by the same
-- statement; the worker's relay claims these rows in batches (FOR UPDATE SKIP LOCKED), adds one send-email
-- job per email in one round trip to Redis, and deletes them in the same transaction. The API request
-- itself then makes no Redis round trip for the email. No foreign key: an email deleted meanwhile (its
-- agency deleted) costs the relay one job that finds no row, while a key would cost every invite a probe.
create table email_relay (
  email_id uuid primary key,
  created_at timestamptz not null default now()
);

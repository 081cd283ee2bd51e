-- A `sending` state with a lease, so two workers never send the same email at once and a worker that
-- died mid-send is told apart from one that never started (see worker/src/processors/sendEmail.ts).
alter table emails drop constraint emails_status_check;
alter table emails add constraint emails_status_check check (status in ('queued', 'sending', 'sent', 'failed', 'cancelled'));
alter table emails add column locked_until timestamptz;
-- The outbox sweep looks for rows still queued, or sending with an expired lease.
create index emails_sending_idx on emails (locked_until) where status = 'sending';

-- Keys and indexes that cost a bulk import per row and protect nothing the schema or the code does not
-- otherwise.
--
-- events.agency_id: the event log is append-only and every writer sets agency_id from the row it records
-- (itself tenant-checked by composite keys since 0085). The key's only other role was cascading an
-- agency's deletion, which no code path does. It cost one RI trigger per event, at least one event per
-- imported row (7% of an import's database time when rows wrote four). Tenant scoping of reads is
-- unchanged (every query filters by it).
--
-- import_keys.import_id: run state of a running import (the project+email pairs it applied), deleted when
-- the import completes and otherwise only read by that import's own runner, which holds its id. One
-- trigger per imported row. An import's deletion (a failed upload, before any run) clears it explicitly.
alter table events drop constraint events_agency_id_fkey;
alter table import_keys drop constraint import_keys_import_id_fkey;

-- The identity columns behind list cursors are unique by construction, and every list reads them through
-- its (agency_id, ..., seq) index; a separate unique index on seq alone was one more index entry per row on
-- the tables an import fills (clients, invitations, tasks).
alter table clients drop constraint clients_seq_key;
alter table invitations drop constraint invitations_seq_key;
alter table tasks drop constraint tasks_seq_key;

-- Invitations are listed by email through their client (core/src/read/invitations.ts): the (agency, email)
-- index was one more entry per invitation written. The (id, agency_id) key existed only for the emails
-- composite reference; an email's tenant is already checked through its client (emails_client_id_agency_id_fkey),
-- so its invitation reference goes back to the plain key, still cascading.
drop index invitations_agency_email_seq_idx;
alter table emails drop constraint emails_invitation_id_agency_id_fkey;
alter table emails add constraint emails_invitation_id_fkey foreign key (invitation_id) references invitations(id) on delete cascade;
alter table invitations drop constraint invitations_id_agency_id_key;
-- Every email names its client or its firm user (all kinds do), so that reference always checks the tenant.
alter table emails drop constraint emails_names_a_recipient_check;
alter table emails add constraint emails_names_a_recipient_check check (num_nonnulls(client_id, firm_user_id) > 0);

-- Keys that cost a bulk import per row and protect nothing the schema or the code does not otherwise.
--
-- Two foreign keys that cost the CSV import a trigger call per row and protect nothing the code does not:
--
-- events.agency_id: the event log is append-only and every writer sets agency_id from the row it records
-- (itself tenant-checked by composite keys since 0085). The key's only other role was cascading an
-- agency's deletion, which no code path does. It cost one RI trigger per event, four events per imported
-- row: 7% of an import's database time. Tenant scoping of reads is unchanged (every query filters by it).
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

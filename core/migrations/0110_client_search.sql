-- The console's client directory and the dashboard search find clients by a prefix of their email, first
-- name or last name, case-insensitively (GET /v1/clients?q=). A LIKE 'abc%' can only use a btree whose
-- operator class compares bytes (text_pattern_ops): the unique (agency_id, email_normalized) index follows
-- the database collation, which is not "C" on most servers. One entry per client in each; clients are a
-- small share of an import's rows (one per address, against invitations, events, assignments).
create index if not exists clients_agency_email_prefix_idx on clients (agency_id, email_normalized text_pattern_ops);
create index if not exists clients_agency_first_name_prefix_idx on clients (agency_id, lower(first_name) text_pattern_ops);
create index if not exists clients_agency_last_name_prefix_idx on clients (agency_id, lower(last_name) text_pattern_ops);

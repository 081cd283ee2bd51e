-- One index for a client's address instead of two (issue 17: what each imported row writes). The unique
-- key (agency_id, email_normalized) and the console search's byte-ordered prefix index of migration 0110
-- held the same entries in two orders. A text_pattern_ops btree answers both: its equality is the text
-- type's (byte equality for the database's deterministic collation), so it enforces the same uniqueness,
-- ON CONFLICT (agency_id, email_normalized) infers it, and the by-email probes and the prefix search use it.
-- It keeps the prefix index's name, which the search's tests and docs use.
drop index clients_agency_email_prefix_idx;
alter table clients drop constraint clients_agency_id_email_normalized_key;
create unique index clients_agency_email_prefix_idx on clients (agency_id, email_normalized text_pattern_ops);
